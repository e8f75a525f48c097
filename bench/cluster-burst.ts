// Burst at a sleeping server on a real control plane: N sessionless MCP pings spread round-robin
// over three in-process controller replicas (kubernetes runtime) sharing the real Redis, all sent
// at once (or at most C in flight per replica). Each replica holds its share while the server
// wakes; exactly one scale patch may reach the Deployment (summed over the replicas), and every
// ping must be answered. Reports patches, wakes, errors and latency percentiles.
// Target: scale patches = 1, errors = 0.
// Usage: node bench/cluster-burst.ts [requests=1000] [concurrencyPerReplica=all]
import { workloadName } from '../registry/catalog/workload-names.ts';
import { registrySpec } from './fleet-setup.ts';
import { rpc } from './mcp-load.ts';
import {
  REDIS_URL,
  counterSum,
  deleteRedisKeys,
  inProcess,
  everythingServer,
  serverDeployment,
  sleep,
  startBenchCluster,
  startBenchController,
  stats,
  wallNow,
  watchCluster,
} from './support/cluster.ts';
import type { RunningController } from '../controller/start.ts';

const REQUESTS = Number(process.argv[2] ?? 1000);
const REPLICAS = 3;
const PER_REPLICA = Number(process.argv[3] ?? Math.ceil(REQUESTS / REPLICAS));

const template = await registrySpec('everything');
// A slug of its own: the coordination keys in the shared Redis are not namespaced.
const slug = `everything-${Date.now().toString(36)}`;
const spec = { ...template, slug, name: `io.example/${slug}` };
const cluster = await startBenchCluster('bench-burst');
const watch = await watchCluster(cluster);
const controllers: RunningController[] = [];
let output: unknown;
try {
  await cluster.apps.createNamespacedDeployment({
    namespace: cluster.namespace,
    body: serverDeployment(spec, cluster.namespace, everythingServer()),
  });
  for (const name of ['a', 'b', 'c'].slice(0, REPLICAS)) {
    controllers.push(
      await startBenchController(cluster, [spec], {
        podName: `bench-controller-${name}`,
        redisUrl: REDIS_URL,
      }),
    );
  }
  for (const c of controllers)
    if (c.fleet.status(slug)?.state !== 'asleep') throw new Error('expected a sleeping server');

  const latencies: number[] = [];
  const byReplica = controllers.map(() => [] as number[]);
  let errors = 0;
  const firstErrors: string[] = [];
  // When each replica's server turned ready (its wake done), polled every 5 ms.
  const readyAt: (number | undefined)[] = controllers.map(() => undefined);
  const poll = setInterval(() => {
    controllers.forEach((c, r) => {
      if (readyAt[r] === undefined && c.fleet.status(slug)?.state === 'ready')
        readyAt[r] = wallNow();
    });
  }, 5);
  const started = wallNow();
  await Promise.all(
    controllers.map(async (controller, r) => {
      const url = `${controller.url}/servers/${slug}/mcp`;
      let next = r;
      const worker = async () => {
        for (; next < REQUESTS;) {
          next += REPLICAS;
          const t0 = wallNow();
          try {
            await rpc({ url, id: undefined }, 'ping');
            const ms = wallNow() - t0;
            latencies.push(ms);
            byReplica[r]!.push(ms);
          } catch (err) {
            errors++;
            if (firstErrors.length < 5) firstErrors.push((err as Error).message);
          }
        }
      };
      await Promise.all(Array.from({ length: PER_REPLICA }, worker));
    }),
  );
  const totalMs = wallNow() - started;
  clearInterval(poll);
  // Late patches (a follower deciding after the burst) would show within a moment.
  await sleep(2_000);
  const patchesUp = await Promise.all(
    controllers.map((c) =>
      counterSum(inProcess(c), 'mcpfleet_scale_patches_total', { direction: 'up' }),
    ),
  );
  const patchesDown = await Promise.all(
    controllers.map((c) =>
      counterSum(inProcess(c), 'mcpfleet_scale_patches_total', { direction: 'down' }),
    ),
  );
  const wakes = await Promise.all(
    controllers.map((c) => counterSum(inProcess(c), 'mcpfleet_wakes_total', { outcome: 'ok' })),
  );
  const replicaChanges = watch.replicas.get(workloadName(slug)) ?? [];
  const patches = patchesUp.reduce((a, b) => a + b, 0) + patchesDown.reduce((a, b) => a + b, 0);
  output = {
    benchmark: 'cluster-burst',
    server: 'everything (stdio) behind the bridge in a process-kubelet pod',
    controllers: `${REPLICAS} in-process replicas, kubernetes runtime, shared Redis`,
    requests: REQUESTS,
    request: 'sessionless ping, round-robin over the replicas',
    concurrencyPerReplica: PER_REPLICA,
    scalePatches: {
      total: patches,
      upByReplica: patchesUp,
      downByReplica: patchesDown,
      replicasSeen: replicaChanges.map((c) => c.replicas),
    },
    wakesByReplica: wakes,
    readyAfterMsByReplica: readyAt.map((t) => (t === undefined ? null : Math.round(t - started))),
    pods: watch.livePods().length,
    errors,
    firstErrors,
    totalMs: Math.round(totalMs),
    latencyMs: stats(latencies),
    latencyByReplicaMs: byReplica.map((l) => ({ p50: stats(l).p50, p99: stats(l).p99 })),
    target: { scalePatches: 1, errors: 0 },
    met: patches === 1 && errors === 0 && latencies.length === REQUESTS,
  };
} finally {
  await Promise.all(controllers.map((c) => c.close().catch(() => undefined)));
  watch.stop();
  await cluster.stop();
  await deleteRedisKeys(slug).catch(() => undefined);
}
console.log(JSON.stringify(output, null, 2));
