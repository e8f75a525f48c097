// The Kubernetes runtime: a server's replica is a pod of its Deployment (mcp-<slug>, built by
// infra/manifests/server.ts). Waking is one patch of the scale subresource (0 → 1); the
// replica is handed out as soon as the pod runs with an address, and the fleet's own MCP
// round trip (initialize + ping, or a sessionless ping through the pod's bridge) decides
// readiness — so traffic starts within milliseconds of the server answering, not at
// kubelet's next readiness probe. The gateway proxies to the pod IP, so a session stays on
// its pod. Remotes run nowhere: they are handled exactly as on the local runtime.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ServerSpec } from '../../../registry/catalog/spec.ts';
import { workloadName } from '../../../registry/catalog/workload-names.ts';
import { probeUntilReady, waitUntilBridgeReady } from '../../health/wait-ready.ts';
import type { Logger } from '../../observability/log.ts';
import { LocalRuntime } from '../local.ts';
import type {
  LaunchCheck,
  Replica,
  ReplicaExit,
  ReplicaHooks,
  Runtime,
  StopIntent,
} from '../runtime.ts';
import { DeploymentScale, type ScalePatch } from './deployment-scale.ts';
import { PodBackends } from './pod-backends.ts';
import type { PodEndpoint } from './pod-endpoint.ts';
import { ServerPods } from './server-pods.ts';

/** How long open() waits for the first pod list before letting the controller listen. */
const OPEN_WAIT_MS = 5_000;
/** A watch reconnects at least every 30 s (client-node's inactivity timeout): 3× that is dead. */
const INFORMER_SILENCE_MS = 90_000;

export interface KubernetesRuntimeOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  logger: Logger;
  /** Every accepted scale patch (metrics, and tests that count them). */
  onScalePatch?: (patch: ScalePatch & { server: string }) => void;
}

export class KubernetesRuntime implements Runtime {
  private readonly options: KubernetesRuntimeOptions;
  private readonly pods: ServerPods;
  private readonly scale: DeploymentScale;
  /** Remotes need no cluster: one implementation for both runtimes. */
  private readonly remotes: LocalRuntime;

  constructor(options: KubernetesRuntimeOptions) {
    this.options = options;
    this.pods = new ServerPods(options.kubeConfig, options.namespace, options.logger);
    this.scale = new DeploymentScale(options.kubeConfig, options.namespace);
    this.remotes = new LocalRuntime({ logger: options.logger });
  }

  /**
   * Starts the pod informer and waits a little for its first list, but never blocks the
   * controller on an unreachable apiserver: it must listen (liveness) and say why it is not
   * ready (/readyz) instead. Wakes before the first sync wait for the cache like any other.
   */
  async open(): Promise<void> {
    void this.pods.start();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.pods.synced,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, OPEN_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.pods.stop();
  }

  /** For /readyz: the pod cache is synced and its watch showed signs of life recently. */
  readiness(): { ok: boolean; error?: string } {
    const { synced, lastAlive, lastError } = this.pods.health;
    if (!synced)
      return { ok: false, error: `pod informer not synced${lastError ? `: ${lastError}` : ''}` };
    const silentMs = Date.now() - lastAlive;
    if (silentMs > INFORMER_SILENCE_MS)
      return {
        ok: false,
        error: `no watch activity for ${Math.round(silentMs / 1000)} s${lastError ? `: ${lastError}` : ''}`,
      };
    return { ok: true };
  }

  check(spec: ServerSpec): LaunchCheck {
    if (spec.kind === 'remote') return this.remotes.check(spec);
    if (spec.transport.type === 'sse')
      return { ok: false, reason: 'the legacy SSE transport is not supported' };
    return { ok: true };
  }

  running(spec: ServerSpec): boolean {
    return spec.kind === 'workload' && this.pods.endpoints(spec.slug).length > 0;
  }

  async start(spec: ServerSpec, _hooks?: ReplicaHooks, signal?: AbortSignal): Promise<Replica> {
    if (spec.kind === 'remote') return this.remotes.start(spec);
    const deployment = workloadName(spec.slug);
    const wake = signal ?? new AbortController().signal;
    // Pods running when the Deployment stood at zero are on their way out, even if the pod
    // cache has not seen their deletion yet: a wake from zero waits for a pod of its own.
    const leaving = new Set(this.pods.endpoints(spec.slug).map((e) => e.uid));
    // Only ever scale up here: another replica's scaler may have raised it further.
    const fromZero = await this.scaleTo(spec.slug, deployment, 1, (current) => current < 1);
    const endpoint = await this.pods.waitFor(
      spec.slug,
      (endpoints) => (fromZero ? endpoints.find((e) => !leaving.has(e.uid)) : endpoints[0]),
      wake,
    );
    return this.replica(spec, deployment, endpoint);
  }

  private replica(spec: ServerSpec, deployment: string, endpoint: PodEndpoint): Replica {
    const slug = spec.slug;
    let settle: (exit: ReplicaExit) => void = () => {};
    const exited = new Promise<ReplicaExit>((resolve) => (settle = resolve));
    // The replica ends when its pod stops running or its container restarted: either way the
    // process behind the URL (and every session it held) is gone.
    const unwatch = this.pods.watch(slug, () => {
      const now = this.pods.endpoint(slug, endpoint.uid);
      if (now && now.restarts === endpoint.restarts && now.url === endpoint.url) return;
      unwatch();
      if (now) {
        settle({ expected: false, reason: `pod ${endpoint.name} restarted its container` });
        return;
      }
      // Gone: crashed or evicted, or scaled to zero by the leading controller replica.
      void this.scale.replicas(deployment).then(
        (desired) =>
          settle(
            desired === 0
              ? { expected: true, sleptElsewhere: true, reason: 'scaled to zero elsewhere' }
              : { expected: false, reason: `pod ${endpoint.name} went away` },
          ),
        () => settle({ expected: false, reason: `pod ${endpoint.name} went away` }),
      );
    });
    const stdio = spec.kind === 'workload' && spec.transport.type === 'stdio';
    const backends = new PodBackends(this.pods, slug, endpoint, (url, signal) =>
      stdio
        ? waitUntilBridgeReady(url, signal, { retry: true, timeoutMs: PROBE_ATTEMPT_MS })
        : probeUntilReady(url, PROBE_ATTEMPT_MS, signal),
    );
    void exited.then(() => backends.close());
    return {
      id: endpoint.name,
      url: endpoint.url,
      headers: {},
      exited,
      children: () => (this.pods.endpoint(slug, endpoint.uid) ? 1 : 0),
      // The bridge answers a sessionless ping from its warm child; HTTP servers get the
      // fleet's initialize + ping instead.
      ...(stdio
        ? {
            ready: (signal: AbortSignal) =>
              waitUntilBridgeReady(endpoint.url, signal, {
                retry: true,
                timeoutMs: PROBE_ATTEMPT_MS,
              }),
          }
        : {}),
      backends: () => backends.list(),
      scale: async (count: number) => {
        await this.scaleTo(slug, deployment, count);
      },
      stop: async (intent: StopIntent = 'sleep') => {
        unwatch();
        backends.close();
        if (intent === 'sleep') await this.scaleTo(slug, deployment, 0);
        settle({ expected: true, reason: intent === 'sleep' ? 'scaled to zero' : 'released' });
      },
    };
  }

  private async scaleTo(
    slug: string,
    deployment: string,
    replicas: number,
    only?: (current: number) => boolean,
  ): Promise<boolean> {
    try {
      const patch = await this.scale.scaleTo(deployment, replicas, only);
      if (patch) this.options.onScalePatch?.({ ...patch, server: slug });
      return patch !== undefined;
    } catch (err) {
      throw new Error(
        `could not scale Deployment ${this.options.namespace}/${deployment} to ${replicas}: ${describeApiError(err)}`,
        { cause: err },
      );
    }
  }
}

/** One initialize + ping attempt when probing a pod. */
const PROBE_ATTEMPT_MS = 5_000;

/** One line from a client-node ApiException (its body is the apiserver's Status). */
function describeApiError(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (typeof e.code === 'number') {
    let message = '';
    try {
      const body =
        typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : e.body;
      message = (body as { message?: string } | undefined)?.message ?? '';
    } catch {
      /* not JSON */
    }
    return `HTTP ${e.code}${message ? `: ${message}` : ''}`;
  }
  return e.message ?? String(err);
}
