// Ready-to-routed on a real control plane: from a new pod's first successful MCP answer (the
// answer to the controller's readiness ping, which the bridge's warm child gives) to the first
// request the controller forwards to that pod (the client's held initialize). Both moments are
// taken inside the pod, by bench/support/timestamped-stdio.ts around server-everything, on this
// host's clock; no controller hook. Each round: a client opens a session on the sleeping server
// (the initialize wakes it and is held), calls a tool, closes; then the management API puts the
// server to sleep and the round waits for the pod to be gone, so every wake is a new pod.
// The controller runs in this process (inline, as the cluster tests do; it then shares the event
// loop with the process kubelet and the watch) or as `mcpfleet serve` in its own (process).
// Target: p99 <= 50 ms. Usage: node bench/cluster-ready-to-routed.ts [rounds=20] [inline|process]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeSession, openSession, rpc } from './mcp-load.ts';
import { registrySpec } from './fleet-setup.ts';
import {
  clientsFirstRequest,
  parseTimestamps,
  round,
  serverAction,
  serverDeployment,
  startBenchCluster,
  inProcess,
  startBenchController,
  startControllerProcess,
  type BenchController,
  stats,
  timestampedEverything,
  waitFor,
  wallNow,
  watchCluster,
} from './support/cluster.ts';

const ROUNDS = Number(process.argv[2] ?? 20);
/** inline: startController in this process (with the kubelet); process: `mcpfleet serve`. */
const CONTROLLER = process.argv[3] === 'process' ? 'process' : 'inline';
const TARGET_P99_MS = 50;

const spec = await registrySpec('everything');
const cluster = await startBenchCluster('bench-r2r');
const file = join(tmpdir(), `${cluster.namespace}-timestamps.jsonl`);
writeFileSync(file, '');
const watch = await watchCluster(cluster);
let output: unknown;
try {
  await cluster.apps.createNamespacedDeployment({
    namespace: cluster.namespace,
    body: serverDeployment(spec, cluster.namespace, timestampedEverything(file)),
  });
  // Inline, the moment the fleet hands the held request its lease (the gateway then proxies)
  // is seen by wrapping fleet.acquire from outside: no controller change.
  const leases: number[] = [];
  let controller: BenchController;
  if (CONTROLLER === 'process') {
    controller = await startControllerProcess(cluster, [spec.slug], {
      podName: 'bench-controller',
    });
  } else {
    const running = await startBenchController(cluster, [spec], { podName: 'bench-controller' });
    const acquire = running.fleet.acquire.bind(running.fleet);
    running.fleet.acquire = async (slug, options) => {
      const lease = await acquire(slug, options);
      leases.push(wallNow());
      return lease;
    };
    controller = inProcess(running);
  }
  const url = `${controller.url}/servers/${spec.slug}/mcp`;
  const clientMs: number[] = [];
  const podOfRound: string[] = [];
  const leaseOfRound: (number | undefined)[] = [];
  // This process's event-loop stalls per round (inline, the controller's loop too).
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const loopMaxOfRound: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      if ((await controller.state(spec.slug)) !== 'asleep') throw new Error('not asleep');
      const before = new Set(watch.pods.keys());
      loop.reset();
      const t0 = wallNow();
      const firstLease = leases.length;
      const session = await openSession(url);
      leaseOfRound.push(leases[firstLease]);
      await rpc(session, 'tools/call', { name: 'echo', arguments: { message: `round ${i}` } });
      clientMs.push(wallNow() - t0);
      loopMaxOfRound.push(loop.max / 1e6);
      await closeSession(session);
      const pod = [...watch.pods.keys()].find((name) => !before.has(name));
      if (!pod) throw new Error(`round ${i}: no new pod seen`);
      podOfRound.push(pod);
      await serverAction(controller, spec.slug, 'sleep');
      await waitFor(() => watch.livePods().length === 0, 60_000, 'the pod to be gone');
      await waitFor(async () => (await controller.state(spec.slug)) === 'asleep', 10_000, 'asleep');
    }
  } finally {
    await controller.close();
  }

  const timestamps = parseTimestamps(readFileSync(file, 'utf8'));
  const readyToRouted: number[] = [];
  const readyToToolsCall: number[] = [];
  const firstRouted: Record<string, number> = {};
  const pingsBeforeReady: number[] = [];
  const samePid: boolean[] = [];
  const problems: string[] = [];
  const readyToLease: number[] = [];
  const leaseToArrival: number[] = [];
  const perRound: { readyToRoutedMs: number; benchLoopDelayMaxMs: number }[] = [];
  for (const [r, pod] of podOfRound.entries()) {
    const mine = timestamps.filter((s) => s.pod === pod).sort((a, b) => a.t - b.t);
    const first = clientsFirstRequest(mine);
    const ready = first && mine.filter((s) => s.event === 'ping-answered' && s.t < first.t).at(-1);
    if (!first || !ready) {
      problems.push(`${pod}: no ${first ? 'ping answer' : 'request'} recorded`);
      continue;
    }
    readyToRouted.push(first.t - ready.t);
    perRound.push({
      readyToRoutedMs: round(first.t - ready.t, 2),
      benchLoopDelayMaxMs: round(loopMaxOfRound[r]!, 1),
    });
    const lease = leaseOfRound[r];
    if (lease !== undefined) {
      readyToLease.push(lease - ready.t);
      leaseToArrival.push(first.t - lease);
    }
    firstRouted[first.method ?? '?'] = (firstRouted[first.method ?? '?'] ?? 0) + 1;
    pingsBeforeReady.push(mine.filter((s) => s.event === 'ping-answered' && s.t <= ready.t).length);
    samePid.push(first.pid === ready.pid);
    const call = mine.find((s) => s.event === 'request' && s.method === 'tools/call');
    if (call) readyToToolsCall.push(call.t - ready.t);
  }
  const summary = stats(readyToRouted);
  output = {
    benchmark: 'cluster-ready-to-routed',
    server: 'everything (stdio) behind the bridge in a process-kubelet pod, via timestamped-stdio',
    controller: `${CONTROLLER === 'process' ? 'own process (mcpfleet serve)' : 'in-process'}, kubernetes runtime, memory coordination`,
    rounds: ROUNDS,
    what:
      'in the pod: the last readiness-ping answer before the first routed request → that ' +
      'request arriving (same wrapper process, same host clock)',
    readyToRoutedMs: summary,
    perRound,
    firstRoutedMethod: firstRouted,
    ...(readyToLease.length
      ? {
          split: {
            readyToLeaseMs: {
              what: 'ping answered in the pod → the held request gets its lease (bridge answers, fleet wakes up, hold released)',
              ...stats(readyToLease),
            },
            leaseToArrivalMs: {
              what: 'lease → the request reaches the server (gateway proxy, connect, bridge)',
              ...stats(leaseToArrival),
            },
          },
        }
      : {}),
    readyToToolsCallMs: {
      what: 'ready → the client’s tools/call (after initialize answered + initialized notification)',
      ...stats(readyToToolsCall),
    },
    pingsAnsweredUntilReady: stats(pingsBeforeReady),
    readyAndRoutedInSameProcess: samePid.every(Boolean),
    clientWakeMs: {
      what: 'client: initialize on the sleeping server + tools/call answered',
      ...stats(clientMs),
    },
    problems,
    target: `p99 <= ${TARGET_P99_MS} ms`,
    met: problems.length === 0 && summary.p99 <= TARGET_P99_MS,
  };
} finally {
  watch.stop();
  await cluster.stop();
  rmSync(file, { force: true });
}
console.log(JSON.stringify(output, null, 2));
