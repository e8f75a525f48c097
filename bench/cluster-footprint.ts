// Controller footprint on a real control plane: RSS of a controller process with 1,000 servers
// registered on the kubernetes runtime — 1,000 specs, 1,000 server Deployments at replicas 0 in
// its namespace plus AWAKE of them scaled to 1 (pods in the process kubelet, bridge + the test
// fixture server; the controller adopts them at start), its pod informer and leader election
// running, shared Redis, in-memory PGlite (a process of its own, reported apart). Measured in a
// child process (node --expose-gc) after the informer synced, the adopted servers are ready and
// it settled: three forced GCs, then VmRSS; BENCH_REPEAT (3) runs, the median reported. Also:
// the same with only the AWAKE servers registered (what 990 more cost), and the local runtime
// (the AWAKE servers woken as local processes) for comparison. Target: kubernetes <= 200 MB.
// Usage: node bench/cluster-footprint.ts [servers=1000] [awake=10]
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkloadSpec } from '../registry/catalog/spec.ts';

// No static imports of the controller or the bench helpers: a child's baseline is node alone.
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SERVERS = Number(process.env.BENCH_SERVERS ?? process.argv[2] ?? 1000);
const AWAKE = Number(process.env.BENCH_AWAKE ?? process.argv[3] ?? 10);
const TARGET_MB = 200;
const FIXTURE_SERVER = `${ROOT}test/fixtures/stdio-server.ts`;
const SETTLE_MS = 5_000;
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function fleetSpecs(prefix: string, count = SERVERS): Promise<WorkloadSpec[]> {
  const { registrySpec } = await import('./fleet-setup.ts');
  const template = await registrySpec('everything');
  return Array.from({ length: count }, (_, i) => ({
    ...template,
    slug: `${prefix}-${i}`,
    name: `io.example/${prefix}-${i}`,
    // What the local runtime runs when one is woken: the small fixture, as in the pods.
    local: { runnable: true, command: process.execPath, args: [FIXTURE_SERVER], requires: [] },
  }));
}

const awakeSlugs = (prefix: string) => Array.from({ length: AWAKE }, (_, i) => `${prefix}-${i}`);

// ---- child: one controller, measured ----

/** VmRSS of a process, from /proc (Linux). */
function rssOf(pid: number): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
  } catch {
    return [];
  }
}

/** A process's arguments after node, or its name (a process that set its title has no argv). */
function commandOf(pid: number): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1).filter(Boolean);
    if (args.length)
      return args
        .map((arg) => arg.replace(ROOT, ''))
        .join(' ')
        .slice(0, 120);
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

async function child(runtime: 'kubernetes' | 'local'): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const settledRss = async () => {
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return process.memoryUsage();
  };
  const baseline = await settledRss();
  // Imported only now, so the baseline is node alone. create-fleet.ts is what startController
  // imports lazily (it brings @kubernetes/client-node, for either runtime).
  const { startController } = await import('../controller/start.ts');
  await import('../controller/fleet/create-fleet.ts');
  const { silentLogger } = await import('../controller/observability/log.ts');
  const { REDIS_URL, waitFor } = await import('./support/cluster.ts');
  const prefix = process.env.BENCH_PREFIX!;
  const specs = await fleetSpecs(prefix, Number(process.env.BENCH_CHILD_SERVERS ?? SERVERS));
  const loaded = await settledRss();
  const started = performance.now();
  const controller = await startController({
    specs,
    runtime,
    ...(runtime === 'kubernetes'
      ? {
          kubernetes: {
            namespace: process.env.BENCH_NAMESPACE!,
            podName: 'bench-footprint',
            kubeconfig: process.env.BENCH_KUBECONFIG!,
          },
        }
      : {}),
    host: '127.0.0.1',
    port: 0,
    dataDir: 'memory://',
    redisUrl: REDIS_URL,
    idleTimeoutMs: 30 * 60_000,
    logger: silentLogger(),
  });
  await waitFor(
    async () => (await fetch(`${controller.url}/readyz`)).status === 200,
    60_000,
    '/readyz',
  );
  const readyMs = performance.now() - started;
  const awake = awakeSlugs(prefix);
  if (runtime === 'local') await Promise.all(awake.map((slug) => controller.fleet.wake(slug)));
  await waitFor(
    () => awake.every((slug) => controller.fleet.status(slug)?.state === 'ready'),
    60_000,
    'the awake servers to be ready',
  );
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const usage = await settledRss();
  const rss = rssOf(process.pid) ?? usage.rss;
  const children = childPids(process.pid);
  const states: Record<string, number> = {};
  for (const s of controller.fleet.list()) states[s.state] = (states[s.state] ?? 0) + 1;
  const result = {
    runtime,
    gcExposed: gc !== undefined,
    servers: specs.length,
    states,
    startToReadyzMs: Math.round(readyMs),
    processBaselineMb: mb(baseline.rss),
    modulesLoadedMb: mb(loaded.rss),
    rssMb: mb(rss),
    heapUsedMb: mb(usage.heapUsed),
    heapTotalMb: mb(usage.heapTotal),
    externalMb: mb(usage.external),
    arrayBuffersMb: mb(usage.arrayBuffers),
    childProcesses: children.map((pid) => ({
      pid,
      command: commandOf(pid),
      rssMb: mb(rssOf(pid) ?? 0),
    })),
  };
  await controller.close();
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

function runChild(runtime: string, env: Record<string, string>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', fileURLToPath(import.meta.url), 'child', runtime],
      {
        env: { ...process.env, ...env, BENCH_SERVERS: String(SERVERS), BENCH_AWAKE: String(AWAKE) },
        timeout: 180_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${runtime} child: ${err.message}\n${stderr.slice(-2000)}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!));
      },
    );
  });
}

// ---- parent: the cluster, then one child per runtime ----

async function parent(): Promise<void> {
  const { serverDeployment, startBenchCluster, waitFor, watchCluster, deleteRedisKeys, round } =
    await import('./support/cluster.ts');
  const prefix = `fp${Date.now().toString(36)}`;
  const specs = await fleetSpecs(prefix);
  const cluster = await startBenchCluster('bench-footprint');
  const watch = await watchCluster(cluster);
  let output: unknown;
  try {
    const fixture = { argv: [process.execPath, FIXTURE_SERVER] };
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < specs.length) {
          const i = next++;
          await cluster.apps.createNamespacedDeployment({
            namespace: cluster.namespace,
            body: serverDeployment(specs[i]!, cluster.namespace, fixture, i < AWAKE ? 1 : 0),
          });
        }
      }),
    );
    const createMs = performance.now() - t0;
    await waitFor(
      () => watch.livePods().filter((p) => p.running !== undefined).length >= AWAKE,
      120_000,
      `${AWAKE} pods running`,
    );
    const deployments = (
      await cluster.apps.listNamespacedDeployment({ namespace: cluster.namespace })
    ).items.length;
    type Measured = { rssMb: number; modulesLoadedMb: number; heapUsedMb: number };
    // Each configuration REPEAT times, one child after the other: the run with the median
    // RSS is reported, with every run's RSS beside it (module loading varies by ~10 MB).
    const measure = async (runtime: string, env: Record<string, string>) => {
      const runs: Measured[] = [];
      for (let i = 0; i < REPEAT; i++) runs.push((await runChild(runtime, env)) as Measured);
      const sorted = [...runs].sort((a, b) => a.rssMb - b.rssMb);
      return {
        ...sorted[Math.floor((sorted.length - 1) / 2)]!,
        rssMbRuns: runs.map((r) => r.rssMb),
      };
    };
    const k8sEnv = {
      BENCH_PREFIX: prefix,
      BENCH_NAMESPACE: cluster.namespace,
      BENCH_KUBECONFIG: cluster.kubeconfigPath,
    };
    const kubernetes = await measure('kubernetes', k8sEnv);
    // The same with only the awake servers registered: what the other servers cost.
    const kubernetesFew = await measure('kubernetes', {
      ...k8sEnv,
      BENCH_CHILD_SERVERS: String(AWAKE),
    });
    const local = await measure('local', { BENCH_PREFIX: `${prefix}l` });
    const localFew = await measure('local', {
      BENCH_PREFIX: `${prefix}m`,
      BENCH_CHILD_SERVERS: String(AWAKE),
    });
    const perServerKb = (many: Measured, few: Measured) => ({
      rss: Math.round(((many.rssMb - few.rssMb) * 1024) / (SERVERS - AWAKE)),
      heapUsed: Math.round(((many.heapUsedMb - few.heapUsedMb) * 1024) / (SERVERS - AWAKE)),
    });
    output = {
      benchmark: 'cluster-footprint',
      cluster: {
        namespace: cluster.namespace,
        deployments,
        createDeploymentsMs: Math.round(createMs),
        podsRunning: watch.livePods().filter((p) => p.running !== undefined).length,
        awakePodCommand: 'mcpfleet bridge -- node test/fixtures/stdio-server.ts',
      },
      store: 'in-memory PGlite (its own process: childProcesses)',
      coordination: 'Redis',
      kubernetes,
      local,
      kubernetesMinusLocalMb: round(kubernetes.rssMb - local.rssMb),
      withOnlyAwakeServers: {
        servers: AWAKE,
        kubernetes: kubernetesFew,
        local: localFew,
      },
      perExtraServerKb: {
        kubernetes: perServerKb(kubernetes, kubernetesFew),
        local: perServerKb(local, localFew),
      },
      modulesLoadedShareOfRss: round(kubernetes.modulesLoadedMb / kubernetes.rssMb, 2),
      repeat: REPEAT,
      target: `kubernetes rssMb (median run) <= ${TARGET_MB}`,
      met: kubernetes.rssMb <= TARGET_MB,
    };
  } finally {
    watch.stop();
    await cluster.stop();
    await deleteRedisKeys(`${prefix}*`).catch(() => undefined);
  }
  console.log(JSON.stringify(output, null, 2));
}

if (process.argv[2] === 'child') await child(process.argv[3] as 'kubernetes' | 'local');
else await parent();
