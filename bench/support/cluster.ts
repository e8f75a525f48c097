// Shared setup for the cluster benches (bench/cluster-*.ts): the real control plane from the
// cluster tests, a process kubelet on the pod bridge, server Deployments shaped like
// infra/manifests/server.ts, in-process controllers with the kubernetes runtime, a pod and
// Deployment watch that timestamps every transition, and small parsers for the metrics text.
import { spawn } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  Watch,
  type KubeConfig,
  type V1Deployment,
  type V1EnvVar,
  type V1Pod,
} from '@kubernetes/client-node';
import { silentLogger } from '../../controller/observability/log.ts';
import { freePort } from '../../test/controller/support/free-port.ts';
import { serverDeployment as testServerDeployment } from '../../test/cluster/runtime/server-deployment.ts';
import { startController, type RunningController } from '../../controller/start.ts';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import {
  hostStarter,
  startProcessKubelet,
  type ProcessKubelet,
} from '../../test/cluster/kubelet/index.ts';
import {
  sharedControlPlane,
  stopSharedControlPlane,
} from '../../test/cluster/support/shared-control-plane.ts';
import { EVERYTHING_BIN, ROOT } from '../mcp-load.ts';

export const CLI_BIN = `${ROOT}controller/cli/bin.js`;
export const TIMESTAMPED_STDIO = `${ROOT}bench/support/timestamped-stdio.ts`;
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Wall-clock ms with fractions, comparable across processes on this host. */
export const wallNow = (): number => performance.timeOrigin + performance.now();
export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 10 ms until it holds or `timeoutMs` passes. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

export interface BenchCluster {
  kubeConfig: KubeConfig;
  /** The same credentials as a file, for controllers (KubernetesOptions.kubeconfig). */
  kubeconfigPath: string;
  namespace: string;
  kubelet: ProcessKubelet;
  apps: AppsV1Api;
  core: CoreV1Api;
  /** Stops the kubelet (deleting its pods) and the control plane. */
  stop(): Promise<void>;
}

/**
 * The shared control plane (built on first use), one amd64 Node in a process kubelet and a
 * fresh namespace. The pod CIDR is picked at random from 10.244.200-249.0/24, away from the
 * cluster tests' ranges, in case they run at the same time.
 */
export async function startBenchCluster(prefix: string): Promise<BenchCluster> {
  const namespace = `${prefix}-${Date.now().toString(36)}`;
  const plane = await sharedControlPlane();
  const kubeConfig = plane.kubeConfig();
  const kubelet = await startProcessKubelet({
    kubeConfig,
    nodes: [
      {
        name: `${namespace}-amd64`,
        arch: 'amd64',
        podCIDR: `10.244.${200 + Math.floor(Math.random() * 50)}.0/24`,
      },
    ],
    images: hostStarter(),
    logger: silentLogger(),
  });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const kubeconfigPath = join(tmpdir(), `${namespace}.kubeconfig`);
  writeFileSync(kubeconfigPath, kubeConfig.exportConfig());
  return {
    kubeConfig,
    kubeconfigPath,
    namespace,
    kubelet,
    apps: kubeConfig.makeApiClient(AppsV1Api),
    core,
    stop: async () => {
      await kubelet.stop({ deletePods: true }).catch(() => undefined);
      await stopSharedControlPlane();
      rmSync(kubeconfigPath, { force: true });
    },
  };
}

export interface ServerContainer {
  /** The stdio server's argv, run by `mcpfleet bridge` in the pod. */
  argv: string[];
  env?: V1EnvVar[];
}

/** server-everything as it is, behind the bridge. */
export const everythingServer = (): ServerContainer => ({
  argv: [process.execPath, EVERYTHING_BIN],
});

/**
 * server-everything behind timestamped-stdio.ts, which appends its timestamps to `file` (the
 * pods run as host processes, so they share this machine's file system and clock).
 */
export function timestampedEverything(file: string): ServerContainer {
  return {
    argv: [process.execPath, TIMESTAMPED_STDIO, process.execPath, EVERYTHING_BIN],
    env: [
      { name: 'BENCH_TIMESTAMPS', value: file },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
  };
}

/** A server Deployment shaped like infra/manifests/server.ts's, running `server` behind the bridge. */
export function serverDeployment(
  spec: ServerSpec,
  namespace: string,
  server: ServerContainer,
  replicas = 0,
): V1Deployment {
  return testServerDeployment(spec, namespace, {
    args: server.argv,
    ...(server.env ? { env: server.env } : {}),
    replicas,
  });
}

export interface BenchControllerOptions {
  podName: string;
  redisUrl?: string;
  idleTimeoutMs?: number;
}

/** A controller in this process with the kubernetes runtime on the bench namespace. */
export function startBenchController(
  cluster: BenchCluster,
  specs: ServerSpec[],
  options: BenchControllerOptions,
): Promise<RunningController> {
  return startController({
    specs,
    runtime: 'kubernetes',
    kubernetes: {
      namespace: cluster.namespace,
      podName: options.podName,
      kubeconfig: cluster.kubeconfigPath,
    },
    host: '127.0.0.1',
    port: 0,
    dataDir: 'memory://',
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    idleTimeoutMs: options.idleTimeoutMs ?? 10 * 60_000,
    logger: silentLogger(),
  });
}

/**
 * What a bench needs of a controller, in this process (startController) or in its own
 * (`mcpfleet serve`, so it shares no event loop with the bench's kubelet, watch and client).
 */
export interface BenchController {
  url: string;
  where: 'in-process' | 'own process';
  state(slug: string): Promise<string | undefined>;
  /** The Prometheus text of /metrics. */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export function inProcess(controller: RunningController): BenchController {
  return {
    url: controller.url,
    where: 'in-process',
    state: async (slug) => controller.fleet.status(slug)?.state,
    metrics: () => controller.metrics.registry.metrics(),
    close: () => controller.close(),
  };
}

/** This environment without what `mcpfleet serve` would read as settings. */
function serveEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env))
    if (/^(MCPFLEET_|DATABASE_URL$|REDIS_URL$|KUBECONFIG$)/.test(key)) delete env[key];
  return env;
}

/**
 * `mcpfleet serve --runtime kubernetes` as a child process, on a registry directory of its
 * own holding only `slugs` (copied from registry/servers), in-memory PGlite, no Redis.
 * Resolves once /readyz answers 200; its stderr goes to `<tmp>/<namespace>-<podName>.log`.
 */
export async function startControllerProcess(
  cluster: BenchCluster,
  slugs: string[],
  options: BenchControllerOptions,
): Promise<BenchController> {
  const registry = mkdtempSync(join(tmpdir(), 'mcpfleet-bench-registry-'));
  for (const slug of slugs)
    cpSync(`${ROOT}registry/servers/${slug}`, join(registry, slug), { recursive: true });
  const port = await freePort();
  const logFile = join(tmpdir(), `${cluster.namespace}-${options.podName}.log`);
  const log = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      CLI_BIN,
      'serve',
      '--runtime',
      'kubernetes',
      '--namespace',
      cluster.namespace,
      '--pod-name',
      options.podName,
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--registry',
      registry,
      '--data-dir',
      'memory://',
      '--idle-timeout',
      `${Math.round((options.idleTimeoutMs ?? 10 * 60_000) / 1000)}s`,
      '--log-level',
      'warn',
      ...(options.redisUrl ? ['--redis-url', options.redisUrl] : []),
    ],
    { cwd: ROOT, stdio: ['ignore', log, log], env: serveEnv() },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killAtExit = () => child.kill('SIGKILL');
  process.once('exit', killAtExit);
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    process.off('exit', killAtExit);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    closeSync(log);
    rmSync(registry, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`mcpfleet serve exited; see ${logFile}`);
        return (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200;
      },
      60_000,
      `mcpfleet serve /readyz (log: ${logFile})`,
    );
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url,
    where: 'own process',
    state: async (slug) => {
      const res = await fetch(`${url}/api/v1/servers/${slug}`);
      return ((await res.json()) as { state?: string }).state;
    },
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    close,
  };
}

/** Sum of a counter's samples whose label set contains every `labels` pair. */
export async function counterSum(
  controller: { metrics(): Promise<string> },
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await controller.metrics();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    const set = m[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[2]);
  }
  return sum;
}

/** POST /api/v1/servers/<slug>/<action> on a controller. */
export async function serverAction(
  controller: { url: string },
  slug: string,
  action: 'wake' | 'sleep',
): Promise<void> {
  const res = await fetch(`${controller.url}/api/v1/servers/${slug}/${action}`, { method: 'POST' });
  const text = await res.text();
  if (!res.ok) throw new Error(`${action} ${slug}: HTTP ${res.status} ${text.slice(0, 200)}`);
}

/** When this process first saw each transition of a pod (watch delivery time, wallNow()). */
export interface PodTimes {
  name: string;
  added?: number;
  /** spec.nodeName set */
  scheduled?: number;
  /** phase Running with an IP and every container running: what the controller routes on */
  running?: number;
  /** kubelet's Ready condition True */
  ready?: number;
  /** deletionTimestamp set */
  terminating?: number;
  deleted?: number;
}

export interface ClusterWatch {
  pods: Map<string, PodTimes>;
  /** Deployment name → every spec.replicas change seen, in order. */
  replicas: Map<string, { t: number; replicas: number }[]>;
  /** Pods that exist now (not deleted). */
  livePods(): PodTimes[];
  stop(): void;
}

/** Watches the namespace's pods and Deployments, timestamping every transition on arrival. */
export async function watchCluster(cluster: BenchCluster): Promise<ClusterWatch> {
  const watch = new Watch(cluster.kubeConfig);
  const pods = new Map<string, PodTimes>();
  const replicas = new Map<string, { t: number; replicas: number }[]>();
  const aborts: AbortController[] = [];
  let stopped = false;
  const onPod = (type: string, pod: V1Pod) => {
    const t = wallNow();
    const name = pod.metadata?.name ?? '';
    let times = pods.get(name);
    if (!times) pods.set(name, (times = { name, added: t }));
    if (pod.spec?.nodeName) times.scheduled ??= t;
    const statuses = pod.status?.containerStatuses ?? [];
    if (
      pod.status?.phase === 'Running' &&
      pod.status.podIP &&
      statuses.length > 0 &&
      statuses.every((c) => c.state?.running)
    )
      times.running ??= t;
    if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      times.ready ??= t;
    if (pod.metadata?.deletionTimestamp) times.terminating ??= t;
    if (type === 'DELETED') times.deleted ??= t;
  };
  const onDeployment = (_type: string, deployment: V1Deployment) => {
    const name = deployment.metadata?.name ?? '';
    const want = deployment.spec?.replicas ?? 0;
    let list = replicas.get(name);
    if (!list) replicas.set(name, (list = []));
    if (list.at(-1)?.replicas !== want) list.push({ t: wallNow(), replicas: want });
  };
  const start = async (path: string, onEvent: (type: string, obj: unknown) => void) => {
    const run = async (): Promise<void> => {
      if (stopped) return;
      aborts.push(
        await watch.watch(path, { allowWatchBookmarks: false }, onEvent, () => {
          // The apiserver ends watches after a while: start again (events replay as ADDED,
          // which changes no first-seen time).
          if (!stopped) setTimeout(() => void run().catch(() => undefined), 100);
        }),
      );
    };
    await run();
  };
  const ns = cluster.namespace;
  await start(`/api/v1/namespaces/${ns}/pods`, (type, obj) => onPod(type, obj as V1Pod));
  await start(`/apis/apps/v1/namespaces/${ns}/deployments`, (type, obj) =>
    onDeployment(type, obj as V1Deployment),
  );
  return {
    pods,
    replicas,
    livePods: () => [...pods.values()].filter((p) => p.deleted === undefined),
    stop: () => {
      stopped = true;
      for (const abort of aborts) abort.abort();
    },
  };
}

export interface Timestamp {
  pod: string;
  pid: number;
  event: 'start' | 'able' | 'ping-answered' | 'request' | 'answered';
  t: number;
  method?: string;
}

export function parseTimestamps(text: string): Timestamp[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Timestamp);
}

/**
 * The first request a client's traffic brought to a pod: in a process that answered no ping from
 * outside. Readiness runs in processes of its own — the bridge's check (initialize, initialized,
 * ping, in a child it stops) — so their requests come first; the client's initialize goes to
 * the warm spare, which only ever answered the wrapper's own ping.
 */
export function clientsFirstRequest(mine: readonly Timestamp[]): Timestamp | undefined {
  const probed = new Set(mine.filter((s) => s.event === 'ping-answered').map((s) => s.pid));
  return mine.find((s) => s.event === 'request' && !probed.has(s.pid));
}

/** Raw figures → { count, p50, p90, p99, max, mean } in ms, one decimal. */
export function stats(values: number[]): {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
} {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length === 0
      ? NaN
      : sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1);
  return {
    count: sorted.length,
    p50: round(at(50)),
    p90: round(at(90)),
    p99: round(at(99)),
    min: round(sorted[0] ?? NaN),
    max: round(sorted.at(-1) ?? NaN),
    mean: round(mean),
  };
}

/** Deletes the coordination keys of `slug` (a bench's own, unique slug) from the shared Redis. */
export async function deleteRedisKeys(slug: string, redisUrl = REDIS_URL): Promise<number> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let deleted = 0;
    const patterns = [`activity:${slug}`, `wakelock:${slug}`, `route:${slug}:*`];
    for (const pattern of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(
          cursor,
          'MATCH',
          `mcpfleet:${pattern}`,
          'COUNT',
          1000,
        );
        cursor = next;
        if (keys.length) deleted += await redis.del(...keys);
      } while (cursor !== '0');
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}
