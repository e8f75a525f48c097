// One pod on one node, from admission to deletion: sandbox (netns + IP), volumes, init
// containers in order, then the containers (sidecars first), the pod status on every change,
// activeDeadlineSeconds, and graceful termination — SIGTERM, grace period, SIGKILL, sandbox
// teardown, the terminal status, and (for a pod being deleted) the final DELETE with grace 0.
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPod } from 'kubernetes-models/v1/Pod';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BackoffSettings } from './backoff.ts';
import { prepareContainer } from './container-config.ts';
import type { LogSource } from './container-logs.ts';
import { ContainerRunner, type ContainerKind, type RestartPolicy } from './container-runner.ts';
import type { ContainerStarter, ImageConfig, Mount } from './container-starter.ts';
import type { PodRuntimeInfo } from './downward-api.ts';
import type { ObjectSource } from './env.ts';
import type { EventRecorder } from './events.ts';
import type { IpAllocator } from './ipam.ts';
import { isNotFound, KubeApiError, type KubeApi } from './kube-api.ts';
import type { Logger } from './logger.ts';
import type { NodeSpec } from './node-registration.ts';
import {
  createSandbox,
  destroySandbox,
  type PodNetworkConfig,
  type Sandbox,
} from './pod-sandbox.ts';
import { ConditionClock, generatePodStatus, isSidecar, kubeTime } from './pod-status.ts';
import { createStatusWriter, type StatusWriter } from './status-writer.ts';
import { setupVolumes, VolumeError, type PodVolumes } from './volumes.ts';

export interface PodWorkerDeps {
  api: KubeApi;
  source: ObjectSource;
  starter: ContainerStarter;
  logger: Logger;
  node: NodeSpec;
  allocator: IpAllocator;
  allocatable: Record<string, string>;
  network: PodNetworkConfig;
  hostIP: string;
  serviceEnv: ReadonlyMap<string, string>;
  /** The nameserver written into pods' resolv.conf. */
  dnsServer: string;
  /** <root>/pods/<uid> holds the pod's volumes and managed files. */
  podsDir: string;
  logsDir: string;
  backoff: BackoffSettings;
  probeTimeScale: number;
  resolveImage(ref: string, arch: string): Promise<ImageConfig>;
  events: EventRecorder;
  /** The worker is done (pod deleted, or the kubelet stopped it). */
  onFinished(uid: string): void;
}

export interface ContainerInfo {
  name: string;
  kind: ContainerKind;
  restartCount: number;
  ready: boolean;
  started: boolean;
  pid: number | undefined;
  /** The current (or last) instance's log file. */
  logPath: string | undefined;
  /** Every instance's log: <logsDir>/<ns>_<pod>_<uid>/<container>/<restartCount>.log */
  logDir: string;
}

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  phase: string | undefined;
  podIP: string | undefined;
  /** The pod's network namespace (`ip netns` name); undefined for hostNetwork or once torn down. */
  netns: string | undefined;
  podDir: string;
  terminating: boolean;
  containers: ContainerInfo[];
}

const DEFAULT_GRACE_SECONDS = 30;
/** kubelet's minimumGracePeriodInSeconds */
const MIN_GRACE_MS = 2_000;

export class PodWorker {
  pod: IPod;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  private readonly deps: PodWorkerDeps;
  private readonly podDir: string;
  private readonly podLogDir: string;
  private readonly writer: StatusWriter;
  private readonly clock: ConditionClock;
  private readonly startTime: string;
  private readonly initRunners: ContainerRunner[];
  private readonly runners: ContainerRunner[];
  private sandbox: Sandbox | undefined;
  private podIP: string | undefined;
  private sandboxReady = false;
  private volumes: PodVolumes | undefined;
  private terminating: Promise<void> | undefined;
  private finalizing: Promise<void> | undefined;
  private stopRequested = false;
  private podIsTerminal = false;
  private reason: string | undefined;
  private message: string | undefined;
  private publishScheduled = false;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private main: Promise<void> | undefined;

  constructor(pod: IPod, deps: PodWorkerDeps) {
    this.pod = pod;
    this.deps = deps;
    this.uid = pod.metadata!.uid!;
    this.namespace = pod.metadata!.namespace ?? 'default';
    this.name = pod.metadata!.name!;
    this.podDir = path.join(deps.podsDir, this.uid);
    this.podLogDir = path.join(deps.logsDir, `${this.namespace}_${this.name}_${this.uid}`);
    this.writer = createStatusWriter(
      deps.api,
      { namespace: this.namespace, name: this.name, uid: this.uid },
      deps.logger,
    );
    this.clock = new ConditionClock(pod.status?.conditions);
    this.startTime = pod.status?.startTime ? String(pod.status.startTime) : kubeTime();
    const hasInit = (pod.spec?.initContainers ?? []).length > 0;
    const waitingReason = hasInit ? 'PodInitializing' : 'ContainerCreating';
    this.initRunners = (pod.spec?.initContainers ?? []).map((container) =>
      this.makeRunner(container, isSidecar(container) ? 'sidecar' : 'init', waitingReason),
    );
    this.runners = (pod.spec?.containers ?? []).map((container) =>
      this.makeRunner(container, 'regular', waitingReason),
    );
  }

  private get label(): string {
    return `${this.name}_${this.namespace}(${this.uid})`;
  }

  private makeRunner(
    container: IContainer,
    kind: ContainerKind,
    waitingReason: string,
  ): ContainerRunner {
    const spec = this.pod.spec!;
    return new ContainerRunner(
      container,
      kind,
      {
        podLabel: this.label,
        restartPolicy: (spec.restartPolicy ?? 'Always') as RestartPolicy,
        terminationGracePeriodMs: () =>
          (this.pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000,
        starter: this.deps.starter,
        podIP: () => this.podIP ?? this.deps.hostIP,
        prepare: (c) => this.prepare(c),
        logPath: (name, restartCount) => path.join(this.podLogDir, name, `${restartCount}.log`),
        backoff: this.deps.backoff,
        probeTimeScale: this.deps.probeTimeScale,
        logger: this.deps.logger,
        onChange: () => this.publish(),
        event: (type, reason, message) =>
          this.deps.events.record(
            this.pod,
            type,
            reason,
            message,
            `spec.${kind === 'regular' ? 'containers' : 'initContainers'}{${container.name}}`,
          ),
      },
      waitingReason,
    );
  }

  private runtimeInfo(): PodRuntimeInfo {
    return {
      pod: this.pod,
      podIP: this.podIP ?? '',
      hostIP: this.deps.hostIP,
      allocatable: this.deps.allocatable,
    };
  }

  private async prepare(container: IContainer) {
    const managedMounts: Mount[] = [];
    if (!this.pod.spec?.hostNetwork) {
      managedMounts.push({
        source: path.join(this.podDir, 'etc-hosts'),
        target: '/etc/hosts',
        readOnly: false,
      });
    }
    if (this.usesPodDns()) {
      managedMounts.push({
        source: path.join(this.podDir, 'resolv.conf'),
        target: '/etc/resolv.conf',
        readOnly: true,
      });
    }
    return prepareContainer({
      pod: this.pod,
      container,
      info: this.runtimeInfo(),
      source: this.deps.source,
      serviceEnv: this.deps.serviceEnv,
      resolveImage: (ref) => this.deps.resolveImage(ref, this.deps.node.arch),
      volumePaths: this.volumes?.paths ?? new Map(),
      managedMounts,
      netnsPath: this.sandbox?.netnsPath,
    });
  }

  start(): void {
    this.publish();
    this.main ??= this.run().catch((err: unknown) => {
      this.deps.logger.error(`pod ${this.namespace}/${this.name}: ${String(err)}`);
    });
    const deadline = this.pod.spec?.activeDeadlineSeconds;
    if (deadline !== undefined) {
      const remaining = Date.parse(this.startTime) + deadline * 1000 - Date.now();
      this.deadlineTimer = setTimeout(
        () => {
          this.reason = 'DeadlineExceeded';
          this.message = 'Pod was active on the node longer than the specified deadline';
          void this.terminate(this.graceMs(), false);
        },
        Math.max(0, remaining),
      );
    }
  }

  /** A newer version of the pod from the watch. */
  update(pod: IPod): void {
    const before = this.pod;
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp) {
      void this.terminate(this.graceMs(), true);
      return;
    }
    const changed =
      JSON.stringify(before.metadata?.labels) !== JSON.stringify(pod.metadata?.labels) ||
      JSON.stringify(before.metadata?.annotations) !== JSON.stringify(pod.metadata?.annotations);
    if (changed) this.refreshVolumes();
    this.publish();
  }

  /** A ConfigMap or Secret in the pod's namespace changed. */
  objectChanged(kind: 'ConfigMap' | 'Secret', name: string): void {
    if (this.terminating) return;
    const volumes = this.volumes;
    if (volumes && (kind === 'ConfigMap' ? volumes.configMaps : volumes.secrets).has(name)) {
      this.refreshVolumes();
    }
    this.wakeUp?.();
    for (const runner of [...this.initRunners, ...this.runners]) runner.nudge();
  }

  private refreshVolumes(): void {
    const volumes = this.volumes;
    if (!volumes || this.terminating) return;
    volumes.refresh(this.pod, this.runtimeInfo()).catch((err: unknown) => {
      this.deps.logger.warn(
        `pod ${this.namespace}/${this.name}: volume refresh failed: ${String(err)}`,
      );
    });
  }

  graceMs(): number {
    const seconds =
      this.pod.metadata?.deletionGracePeriodSeconds ??
      this.pod.spec?.terminationGracePeriodSeconds ??
      DEFAULT_GRACE_SECONDS;
    return Math.max(seconds * 1000, MIN_GRACE_MS);
  }

  private publish(): void {
    if (this.publishScheduled) return;
    this.publishScheduled = true;
    setImmediate(() => {
      this.publishScheduled = false;
      this.writer.set(this.currentStatus());
    });
  }

  private currentStatus() {
    return generatePodStatus({
      pod: this.pod,
      initContainerStatuses: this.initRunners.map((runner) => runner.status()),
      containerStatuses: this.runners.map((runner) => runner.status()),
      sandboxReady: this.sandboxReady,
      podIP: this.podIP,
      hostIP: this.deps.hostIP,
      startTime: this.startTime,
      podIsTerminal: this.podIsTerminal,
      clock: this.clock,
      reason: this.reason,
      message: this.message,
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    }).then(() => {
      this.wakeUp = undefined;
    });
  }

  /** Retries a setup step until it works or the pod is being stopped. */
  private async retry<T>(what: string, step: () => Promise<T>): Promise<T | undefined> {
    let delay = 250;
    for (;;) {
      if (this.stopRequested) return undefined;
      try {
        return await step();
      } catch (err) {
        const message = String((err as Error).message ?? err);
        const level = err instanceof VolumeError ? 'info' : 'warn';
        this.deps.logger[level](`pod ${this.namespace}/${this.name}: ${what}: ${message}`);
        this.deps.events.record(
          this.pod,
          'Warning',
          what === 'volumes' ? 'FailedMount' : 'FailedCreatePodSandBox',
          what === 'volumes' ? `MountVolume.SetUp failed: ${message}` : message,
        );
        await this.sleep(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  /** dnsPolicy ClusterFirst (the default) or None get a kubelet-written resolv.conf. */
  private usesPodDns(): boolean {
    const policy = this.pod.spec?.dnsPolicy ?? 'ClusterFirst';
    if (policy === 'None') return true;
    if (policy === 'Default') return false;
    return !this.pod.spec?.hostNetwork || policy === 'ClusterFirstWithHostNet';
  }

  /**
   * There is no cluster DNS: the nameserver is the bridge address, where nothing listens, so a
   * lookup fails at once (ICMP port unreachable) instead of timing out against a resolver the
   * pod cannot reach. dnsConfig (nameservers, searches, options) is honoured.
   */
  private async writeResolvConf(): Promise<void> {
    const config = this.pod.spec?.dnsConfig ?? {};
    const none = this.pod.spec?.dnsPolicy === 'None';
    const nameservers = [...(none ? [] : [this.deps.dnsServer]), ...(config.nameservers ?? [])];
    const searches = [
      ...(none
        ? []
        : [`${this.namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local']),
      ...(config.searches ?? []),
    ];
    const options = new Map<string, string | undefined>(none ? [] : [['ndots', '5']]);
    for (const option of config.options ?? []) options.set(option.name ?? '', option.value);
    const lines = [
      ...nameservers.slice(0, 3).map((server) => `nameserver ${server}`),
      ...(searches.length ? [`search ${searches.join(' ')}`] : []),
      ...(options.size
        ? [`options ${[...options].map(([k, v]) => (v === undefined ? k : `${k}:${v}`)).join(' ')}`]
        : []),
    ];
    await fs.writeFile(path.join(this.podDir, 'resolv.conf'), `${lines.join('\n')}\n`, {
      mode: 0o644,
    });
  }

  private async writeEtcHosts(): Promise<void> {
    const hostname = this.pod.spec?.hostname ?? this.name;
    const lines = [
      '# Kubernetes-managed hosts file (process kubelet).',
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      `${this.podIP ?? this.deps.hostIP}\t${hostname}`,
      ...(this.pod.spec?.hostAliases ?? []).flatMap((alias) =>
        alias.ip ? [`${alias.ip}\t${(alias.hostnames ?? []).join('\t')}`] : [],
      ),
    ];
    await fs.writeFile(path.join(this.podDir, 'etc-hosts'), `${lines.join('\n')}\n`, {
      mode: 0o644,
    });
  }

  private async run(): Promise<void> {
    await fs.mkdir(this.podDir, { recursive: true, mode: 0o755 });
    await fs.chmod(this.podDir, 0o755);
    await fs.mkdir(this.podLogDir, { recursive: true });

    if (this.pod.spec?.hostNetwork) {
      this.podIP = this.deps.hostIP;
      this.sandboxReady = true;
    } else {
      const sandbox = await this.retry('sandbox', async () => {
        const ip = this.deps.allocator.allocate(this.uid);
        try {
          return await createSandbox(this.uid, ip, this.deps.network);
        } catch (err) {
          this.deps.allocator.release(ip);
          throw err;
        }
      });
      if (!sandbox) return;
      if (this.stopRequested) {
        await this.teardownSandbox(sandbox);
        return;
      }
      this.sandbox = sandbox;
      this.podIP = sandbox.ip;
      this.sandboxReady = true;
    }
    await this.writeEtcHosts();
    if (this.usesPodDns()) await this.writeResolvConf();
    this.publish();

    const volumes = await this.retry('volumes', () =>
      setupVolumes(this.pod, this.runtimeInfo(), {
        api: this.deps.api,
        source: this.deps.source,
        podDir: this.podDir,
        logger: this.deps.logger,
        ...(this.deps.starter.imageVolume
          ? { imageVolume: (ref: string) => this.deps.starter.imageVolume!(ref) }
          : {}),
      }),
    );
    if (!volumes) return;
    this.volumes = volumes;

    for (const runner of this.initRunners) {
      if (this.stopRequested) return;
      if (runner.kind === 'sidecar') {
        void runner.run();
        await runner.whenStarted();
        continue;
      }
      const outcome = await runner.run();
      if (outcome !== 'succeeded') return; // failed with restartPolicy Never, or stopped
      // kubelet reports a completed init container as ready.
      runner.ready = true;
      this.publish();
    }
    if (this.stopRequested) return;
    await Promise.all(this.runners.map((runner) => runner.run()));
    if (this.stopRequested) return;
    // Every regular container finished for good (restartPolicy OnFailure/Never): the pod is done.
    void this.terminate(this.graceMs(), false);
  }

  private async teardownSandbox(sandbox: Sandbox): Promise<void> {
    await destroySandbox(sandbox).catch((err: unknown) => {
      this.deps.logger.warn(`pod ${this.namespace}/${this.name}: sandbox teardown: ${String(err)}`);
    });
    this.deps.allocator.release(sandbox.ip);
  }

  /**
   * Stops the pod: containers get SIGTERM and graceMs to exit (sidecars after the others), the
   * sandbox goes, the terminal status is written (unless !report: a kubelet that stops leaves
   * the API alone), and with finalize the pod object is deleted.
   */
  terminate(graceMs: number, finalize: boolean, report = true): Promise<void> {
    this.terminating ??= this.doTerminate(graceMs, report);
    if (finalize) this.finalizing ??= this.terminating.then(() => this.finalDelete());
    return this.finalizing ?? this.terminating;
  }

  private async doTerminate(graceMs: number, report: boolean): Promise<void> {
    this.stopRequested = true;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.wakeUp?.();
    const deadline = Date.now() + graceMs;
    const remaining = (): number => Math.max(deadline - Date.now(), MIN_GRACE_MS);
    await Promise.all(
      [...this.runners, ...this.initRunners.filter((r) => r.kind === 'init')].map((runner) =>
        runner.stop(remaining()),
      ),
    );
    for (const sidecar of [...this.initRunners].reverse().filter((r) => r.kind === 'sidecar')) {
      await sidecar.stop(remaining());
    }
    await this.main;
    this.volumes?.close();
    if (this.sandbox) {
      await this.teardownSandbox(this.sandbox);
      this.sandbox = undefined;
    }
    this.podIsTerminal = true;
    if (report) {
      this.writer.set(this.currentStatus());
      await this.writer.flush();
    } else {
      this.writer.close();
    }
  }

  /** What kubelet's status manager does once a deleted pod's containers are gone. */
  private async finalDelete(): Promise<void> {
    await this.deps.api
      .request('DELETE', `/api/v1/namespaces/${this.namespace}/pods/${this.name}`, {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid: this.uid },
        },
      })
      .catch((err: unknown) => {
        if (!isNotFound(err) && !(err instanceof KubeApiError && err.status === 409)) {
          this.deps.logger.warn(
            `pod ${this.namespace}/${this.name}: final delete failed: ${String(err)}`,
          );
        }
      });
  }

  /** After the pod is gone from the API (or at kubelet stop): remove its files, forget it. */
  async dispose(): Promise<void> {
    this.writer.close();
    await fs.rm(this.podDir, { recursive: true, force: true }).catch(() => undefined);
    this.deps.onFinished(this.uid);
  }

  /** What the kubelet API reads a container's logs from (undefined: no such container). */
  logSource(container: string): LogSource | undefined {
    const runner = [...this.initRunners, ...this.runners].find((r) => r.name === container);
    return runner && { status: runner.status(), dir: path.join(this.podLogDir, runner.name) };
  }

  info(): PodInfo {
    const container = (runner: ContainerRunner): ContainerInfo => ({
      name: runner.name,
      kind: runner.kind,
      restartCount: runner.restartCount,
      ready: runner.ready,
      started: runner.started,
      pid: runner.pid,
      logPath: runner.logPath,
      logDir: path.join(this.podLogDir, runner.name),
    });
    return {
      namespace: this.namespace,
      name: this.name,
      uid: this.uid,
      nodeName: this.deps.node.name,
      phase: this.currentStatus().phase,
      podIP: this.podIP,
      netns: this.sandbox?.netnsName,
      podDir: this.podDir,
      terminating: this.terminating !== undefined,
      containers: [...this.initRunners, ...this.runners].map(container),
    };
  }
}
