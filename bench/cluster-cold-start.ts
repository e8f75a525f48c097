// Cold start from zero on a real control plane, taken apart. Each round a client sends
// initialize to a sleeping server through an in-process controller (kubernetes runtime); the
// bench watches the Deployment and its pod (watch arrival times) and the pod's server wrapper
// (bench/support/timestamped-stdio.ts) stamps when server-everything could first answer, when
// the controller's readiness ping was answered, and when the initialize came in and went out.
// All on this host's clock. Reported apart:
//   pod: the process kubelet's pod start (created → scheduled → containers running → Ready)
//   server: wake request → the server able to answer (cluster + kubelet + bridge + server start)
//   controller added: wake request → first response, minus the server's time to become able
//     to answer and minus its own initialize processing; split into detection (able → the
//     readiness ping answered), routing (→ the held initialize arriving) and the answer's way
//     back. The controller's scale patch (request → replicas 1 seen) lies inside the server
//     window and is shown on its own.
// The controller runs in this process (inline) or as `mcpfleet serve` in its own (process).
// Target: controller added <= 100 ms at p50.
// Usage: node bench/cluster-cold-start.ts [rounds=15] [inline|process]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeSession, notify, rpc, type Session } from './mcp-load.ts';
import { registrySpec } from './fleet-setup.ts';
import { workloadName } from '../registry/catalog/workload-names.ts';
import {
  counterSum,
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

const ROUNDS = Number(process.argv[2] ?? 15);
/** inline: startController in this process (with the kubelet); process: `mcpfleet serve`. */
const CONTROLLER = process.argv[3] === 'process' ? 'process' : 'inline';
const TARGET_ADDED_P50_MS = 100;

interface Round {
  request: number;
  response: number;
  pod: string;
  wakeDurationMs: number;
}

const spec = await registrySpec('everything');
const deployment = workloadName(spec.slug);
const cluster = await startBenchCluster('bench-cold');
const file = join(tmpdir(), `${cluster.namespace}-timestamps.jsonl`);
writeFileSync(file, '');
const watch = await watchCluster(cluster);
let output: unknown;
try {
  await cluster.apps.createNamespacedDeployment({
    namespace: cluster.namespace,
    body: serverDeployment(spec, cluster.namespace, timestampedEverything(file)),
  });
  const controller: BenchController =
    CONTROLLER === 'process'
      ? await startControllerProcess(cluster, [spec.slug], { podName: 'bench-controller' })
      : inProcess(await startBenchController(cluster, [spec], { podName: 'bench-controller' }));
  const url = `${controller.url}/servers/${spec.slug}/mcp`;
  const rounds: Round[] = [];
  const wakeSeconds = () =>
    counterSum(controller, 'mcpfleet_wake_duration_seconds_sum', { server: spec.slug });
  try {
    for (let i = 0; i < ROUNDS; i++) {
      if ((await controller.state(spec.slug)) !== 'asleep') throw new Error('not asleep');
      const before = new Set(watch.pods.keys());
      const wakeBefore = await wakeSeconds();
      const session: Session = { url, id: undefined };
      const request = wallNow();
      await rpc(session, 'initialize', {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'cold-start', version: '1' },
      });
      const response = wallNow();
      await notify(session, 'notifications/initialized');
      await closeSession(session);
      const pod = [...watch.pods.keys()].find((name) => !before.has(name));
      if (!pod) throw new Error(`round ${i}: no new pod seen`);
      rounds.push({
        request,
        response,
        pod,
        wakeDurationMs: ((await wakeSeconds()) - wakeBefore) * 1000,
      });
      // kubelet's Ready comes at its next readiness probe: wait for it, so the pod start is
      // complete, before the server goes back to sleep.
      await waitFor(() => watch.pods.get(pod)?.ready !== undefined, 15_000, 'kubelet Ready');
      await serverAction(controller, spec.slug, 'sleep');
      await waitFor(() => watch.livePods().length === 0, 60_000, 'the pod to be gone');
      await waitFor(async () => (await controller.state(spec.slug)) === 'asleep', 10_000, 'asleep');
    }
  } finally {
    await controller.close();
  }

  const timestamps = parseTimestamps(readFileSync(file, 'utf8'));
  const scaledUp = (watch.replicas.get(deployment) ?? []).filter((r) => r.replicas === 1);
  const f = {
    total: [] as number[],
    patch: [] as number[],
    scaledToCreated: [] as number[],
    createdToScheduled: [] as number[],
    createdToRunning: [] as number[],
    runningToReady: [] as number[],
    createdToReady: [] as number[],
    runningToWrapperStart: [] as number[],
    wrapperStartToAble: [] as number[],
    serverAble: [] as number[],
    runningSeenMinusAble: [] as number[],
    detect: [] as number[],
    route: [] as number[],
    serverInitialize: [] as number[],
    back: [] as number[],
    added: [] as number[],
    addedWithPatch: [] as number[],
    controllerWakeDuration: [] as number[],
  };
  const problems: string[] = [];
  for (const r of rounds) {
    const pod = watch.pods.get(r.pod)!;
    const mine = timestamps.filter((s) => s.pod === r.pod).sort((a, b) => a.t - b.t);
    const first = clientsFirstRequest(mine);
    const init = first?.method === 'initialize' ? first : undefined;
    const done =
      init &&
      mine.find((s) => s.event === 'answered' && s.method === 'initialize' && s.pid === init.pid);
    const able = init && mine.find((s) => s.event === 'able' && s.pid === init.pid);
    const start = init && mine.find((s) => s.event === 'start' && s.pid === init.pid);
    const ping = init && mine.filter((s) => s.event === 'ping-answered' && s.t < init.t).at(-1);
    const scaled = scaledUp.find((s) => s.t >= r.request);
    if (!init || !done || !able || !start || !ping || !scaled || !pod.added || !pod.running) {
      problems.push(`${r.pod}: incomplete timeline`);
      continue;
    }
    f.total.push(r.response - r.request);
    f.patch.push(scaled.t - r.request);
    f.scaledToCreated.push(pod.added - scaled.t);
    if (pod.scheduled) f.createdToScheduled.push(pod.scheduled - pod.added);
    f.createdToRunning.push(pod.running - pod.added);
    if (pod.ready) {
      f.runningToReady.push(pod.ready - pod.running);
      f.createdToReady.push(pod.ready - pod.added);
    }
    f.runningToWrapperStart.push(start.t - pod.running);
    f.wrapperStartToAble.push(able.t - start.t);
    f.serverAble.push(able.t - r.request);
    f.runningSeenMinusAble.push(pod.running - able.t);
    f.detect.push(ping.t - able.t);
    f.route.push(init.t - ping.t);
    f.serverInitialize.push(done.t - init.t);
    f.back.push(r.response - done.t);
    const added = r.response - able.t - (done.t - init.t);
    f.added.push(added);
    f.addedWithPatch.push(added + (scaled.t - r.request));
    f.controllerWakeDuration.push(r.wakeDurationMs);
  }
  const added = stats(f.added);
  output = {
    benchmark: 'cluster-cold-start',
    setup: {
      server:
        'everything (stdio) behind the bridge in a process-kubelet pod, via timestamped-stdio',
      controller: `${CONTROLLER === 'process' ? 'own process (mcpfleet serve)' : 'in-process'}, kubernetes runtime, memory coordination`,
    },
    rounds: ROUNDS,
    totalMs: { what: 'client: initialize on a sleeping server → its answer', ...stats(f.total) },
    pod: {
      what: 'the bench’s watch: first sight of each transition',
      scaledToCreatedMs: stats(f.scaledToCreated),
      createdToScheduledMs: stats(f.createdToScheduled),
      createdToRunningMs: stats(f.createdToRunning),
      runningToKubeletReadyMs: stats(f.runningToReady),
      createdToKubeletReadyMs: stats(f.createdToReady),
      note: 'readinessProbe: tcpSocket, periodSeconds 2; the controller routes before Ready',
    },
    server: {
      ableMs: {
        what: 'wake request → server-everything answers a ping (in the pod)',
        ...stats(f.serverAble),
      },
      runningToWrapperStartMs: {
        what: 'pod Running (watch) → the bridge spawned its warm child: the bridge’s own start',
        ...stats(f.runningToWrapperStart),
      },
      wrapperStartToAbleMs: {
        what: 'the answering child: wrapper process start → able (node + server-everything load)',
        ...stats(f.wrapperStartToAble),
      },
      initializeMs: { what: 'its own initialize processing', ...stats(f.serverInitialize) },
      runningSeenMinusAbleMs: {
        what: 'pod Running (watch) minus able: < 0 means the pod IP was known first',
        ...stats(f.runningSeenMinusAble),
      },
    },
    controller: {
      addedMs: {
        what: 'total − (request → able) − server initialize = detect + route + back',
        ...added,
        raw: f.added.map((n) => round(n, 2)),
      },
      detectMs: {
        what: 'able → the readiness ping answered (≤ 0: the ping was already waiting)',
        ...stats(f.detect),
      },
      routeMs: { what: 'ping answered → held initialize arrives', ...stats(f.route) },
      backMs: { what: 'initialize answered in the pod → client has it', ...stats(f.back) },
      scalePatchMs: {
        what: 'request → replicas 1 seen by the bench’s watch (inside the server window)',
        ...stats(f.patch),
      },
      addedWithPatchMs: stats(f.addedWithPatch),
      wakeDurationMetricMs: {
        what: 'mcpfleet_wake_duration_seconds per wake',
        ...stats(f.controllerWakeDuration),
      },
    },
    problems,
    target: `controller added p50 <= ${TARGET_ADDED_P50_MS} ms`,
    met: problems.length === 0 && added.p50 <= TARGET_ADDED_P50_MS,
  };
} finally {
  watch.stop();
  await cluster.stop();
  rmSync(file, { force: true });
}
console.log(JSON.stringify(output, null, 2));
