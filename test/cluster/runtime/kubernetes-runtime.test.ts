// The Kubernetes runtime end to end on a real control plane: a controller (in this process,
// with the kubernetes runtime) wakes a server Deployment from zero through the scale
// subresource when an MCP request arrives, routes to the pod's own address as soon as the
// bridge in it answers, and scales it back to zero when idle. The pods run in the process
// kubelet (network namespaces on the pod bridge), the ReplicaSets and EndpointSlices come from
// the real kube-controller-manager, placement from the real kube-scheduler.
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RunningController } from '../../../controller/start.ts';
import { waitFor } from '../../controller/support/processes.ts';
import { PrivateRedis } from '../support/private-redis.ts';
import { startScenario, type Scenario } from './scenario.ts';
import { initializeBody } from '../../controller/support/mcp-messages.ts';

describe('Kubernetes runtime: wake from zero and sleep on a real control plane', function () {
  this.timeout(120_000);
  let scenario: Scenario;
  let controller: RunningController;

  before(async function () {
    this.timeout(60 * 60_000); // a first run on this machine builds the control plane
    scenario = await startScenario({
      name: 'runtime',
      nodes: [
        { arch: 'amd64', podCIDR: '10.244.11.0/24' },
        { arch: 'arm64', podCIDR: '10.244.12.0/24' },
      ],
      deployment: { nodeArch: 'arm64' },
    });
    controller = await scenario.controller('controller-under-test', { idleTimeoutMs: 2_000 });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await scenario.dump();
  });

  after(async function () {
    this.timeout(60_000);
    await controller?.close();
    await scenario?.stop();
  });

  const patches = async () => {
    const text = await controller.metrics.registry.metrics();
    return [
      ...text.matchAll(/^mcpfleet_scale_patches_total\{[^}]*direction="(up|down)"[^}]*\} (\d+)/gm),
    ].map((m) => `${m[1]}:${m[2]}`);
  };

  it('wakes the server from zero on the first MCP request, on the arm64 node, and answers it', async () => {
    assert.equal(await scenario.replicas(), 0);
    assert.equal(controller.fleet.status('everything')?.state, 'asleep');
    const client = new Client({ name: 'runtime-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${controller.url}/servers/everything/mcp`)),
    );
    const result = await client.callTool({ name: 'echo', arguments: { message: 'through a pod' } });
    assert.match(JSON.stringify(result.content), /through a pod/);
    assert.equal(await scenario.replicas(), 1);
    assert.deepEqual(await patches(), ['up:1']);
    const pods = await scenario.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({
      namespace: scenario.namespace,
      labelSelector: 'mcpfleet.dev/server=everything',
    });
    assert.equal(pods.items.length, 1);
    assert.equal(pods.items[0]!.spec?.nodeName, `${scenario.namespace}-arm64`);
    assert.match(pods.items[0]!.status?.podIP ?? '', /^10\.244\.12\./);
    await client.close();
  });

  it('puts the idle server to sleep by scaling the Deployment to zero', async () => {
    await waitFor(async () => (await scenario.replicas()) === 0, 30_000, 'scale to zero');
    await waitFor(
      () => controller.fleet.status('everything')?.state === 'asleep',
      10_000,
      'asleep',
    );
    assert.deepEqual((await patches()).sort(), ['down:1', 'up:1']);
    await waitFor(
      async () =>
        (
          await scenario.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({
            namespace: scenario.namespace,
            labelSelector: 'mcpfleet.dev/server=everything',
          })
        ).items.length === 0,
      30_000,
      'the pod to be gone',
    );
  });
});

describe('Kubernetes runtime: three controller replicas sharing Redis', function () {
  this.timeout(120_000);
  let scenario: Scenario;
  const controllers: RunningController[] = [];
  let redis: PrivateRedis;

  before(async function () {
    this.timeout(60 * 60_000);
    scenario = await startScenario({
      name: 'replicas',
      nodes: [{ arch: 'amd64', podCIDR: '10.244.21.0/24' }],
    });
    redis = await PrivateRedis.start();
    for (const name of ['a', 'b', 'c']) {
      controllers.push(await scenario.controller(`controller-${name}`, { redisUrl: redis.url }));
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await scenario.dump();
  });

  after(async function () {
    this.timeout(60_000);
    await Promise.all(controllers.map((c) => c.close()));
    await scenario?.stop();
    await redis?.stop();
  });

  const upPatches = async (controller: RunningController): Promise<number> => {
    const text = await controller.metrics.registry.metrics();
    const match = /^mcpfleet_scale_patches_total\{[^}]*direction="up"[^}]*\} (\d+)/m.exec(text);
    return match ? Number(match[1]) : 0;
  };

  it('wakes a sleeping server with exactly one scale patch for a burst spread over three replicas', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${controllers[i % 3]!.url}/servers/everything/mcp`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: initializeBody(i),
        }).then(async (res) => ({ status: res.status, text: await res.text() })),
      ),
    );
    assert.deepEqual(
      answers.filter((a) => a.status !== 200),
      [],
      'every request of the burst is answered',
    );
    const patches = await Promise.all(controllers.map(upPatches));
    assert.equal(
      patches.reduce((a, b) => a + b, 0),
      1,
      `scale-up patches per replica: ${patches}`,
    );
  });

  it('continues a session opened through replica A through replica B', async () => {
    const client = new Client({ name: 'session-a', version: '1.0.0' });
    const transportA = new StreamableHTTPClientTransport(
      new URL(`${controllers[0]!.url}/servers/everything/mcp`),
    );
    await client.connect(transportA);
    const sessionId = transportA.sessionId!;
    assert.ok(sessionId);
    // Give replica A's route time to reach Redis, then call through B with the same session.
    await waitFor(
      async () => {
        const { status, text } = await call(controllers[1]!, sessionId, 'via B');
        return status === 200 && text.includes('via B');
      },
      10_000,
      'the session to continue through replica B',
    );
    await client.close();
  });

  /** One tools/call in `sessionId` through `controller`, as a client sends it. */
  const callTool = (
    controller: RunningController,
    sessionId: string,
    name: string,
    args: Record<string, unknown>,
  ) =>
    fetch(`${controller.url}/servers/everything/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name, arguments: args },
      }),
    }).then(async (res) => ({ status: res.status, text: await res.text() }));

  const call = (controller: RunningController, sessionId: string, message: string) =>
    callTool(controller, sessionId, 'echo', { message });

  const openSession = async (controller: RunningController) => {
    const client = new Client({ name: 'session', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(
      new URL(`${controller.url}/servers/everything/mcp`),
    );
    await client.connect(transport);
    return { client, sessionId: transport.sessionId! };
  };

  /** The pod that answers a call in `sessionId` (server-everything's get-env shows POD_NAME). */
  const answeringPod = async (controller: RunningController, sessionId: string) => {
    const { status, text } = await callTool(controller, sessionId, 'get-env', {});
    return { status, pod: /POD_NAME[^a-z0-9-]+([a-z0-9-]+)/.exec(text)?.[1] };
  };

  it('continues a session whose pod was killed on the new pod, replayed, without a hang', async () => {
    const core = scenario.kubeConfig.makeApiClient(CoreV1Api);
    const { client, sessionId } = await openSession(controllers[0]!);
    const before = await answeringPod(controllers[0]!, sessionId);
    assert.equal(before.status, 200);
    assert.ok(before.pod, 'get-env shows the pod');
    await core.deleteNamespacedPod({
      name: before.pod,
      namespace: scenario.namespace,
      gracePeriodSeconds: 0,
    });
    // Held while no pod runs, then replayed on the new pod: the same session answers.
    await waitFor(
      async () => {
        const now = await answeringPod(controllers[0]!, sessionId);
        assert.ok([200, 503].includes(now.status), `status ${now.status}`);
        return now.status === 200 && now.pod !== undefined && now.pod !== before.pod;
      },
      60_000,
      'the session to answer from the new pod',
    );
    assert.match((await call(controllers[0]!, sessionId, 'recovered')).text, /recovered/);
    await client.close();
  });

  it('continues a session after its server slept, through another controller replica', async () => {
    const { client, sessionId } = await openSession(controllers[0]!);
    assert.match((await call(controllers[0]!, sessionId, 'awake')).text, /awake/);
    await controllers[0]!.fleet.sleep('everything');
    await waitFor(async () => (await scenario.replicas()) === 0, 30_000, 'scale to zero');
    const answer = await call(controllers[1]!, sessionId, 'after the sleep');
    assert.equal(answer.status, 200, answer.text);
    assert.match(answer.text, /after the sleep/);
    assert.equal(await scenario.replicas(), 1, 'woken by the session');
    await client.close();
  });

  it('keeps serving its own sessions while Redis is down, reports degraded, and recovers alone', async () => {
    const a = controllers[0]!;
    const { client, sessionId } = await openSession(a);
    await redis.stop();
    try {
      assert.match((await call(a, sessionId, 'redis down')).text, /redis down/);
      await waitFor(
        async () => {
          const res = await fetch(`${a.url}/readyz`);
          const body = (await res.json()) as { status: string };
          return res.status === 200 && body.status === 'degraded';
        },
        15_000,
        'readyz to say degraded',
      );
    } finally {
      await redis.restart();
    }
    await waitFor(
      async () =>
        ((await (await fetch(`${a.url}/readyz`)).json()) as { status: string }).status === 'ready',
      30_000,
      'readyz to recover',
    );
    assert.match((await call(a, sessionId, 'redis back')).text, /redis back/);
    await client.close();
  });
});

describe('Kubernetes runtime: replicas follow sessions', function () {
  this.timeout(120_000);
  let scenario: Scenario;
  let controller: RunningController;
  /** A second controller replica sharing Redis: sessions through it count for the leader too. */
  let other: RunningController;
  let redis: PrivateRedis;

  before(async function () {
    this.timeout(60 * 60_000);
    scenario = await startScenario({
      name: 'sessions',
      nodes: [{ arch: 'amd64', podCIDR: '10.244.41.0/24' }],
      spec: (base) => ({
        ...base,
        // Capacity 4 (2 replicas × 2 sessions): room for a session beyond what makes the
        // second replica, to see where it lands.
        scaling: { ...base.scaling, sessionsPerReplica: 2, maxReplicas: 2 },
        // Every client of this test comes from one loopback address: one client to the
        // limits, which may hold the whole capacity (the default share is a quarter of it).
        sessions: { ...base.sessions, maxPerClient: 4 },
      }),
    });
    redis = await PrivateRedis.start();
    controller = await scenario.controller('controller-sessions', {
      fleet: { scaleDownWindowMs: 1_000 },
      redisUrl: redis.url,
    });
    other = await scenario.controller('controller-sessions-b', {
      fleet: { scaleDownWindowMs: 1_000 },
      redisUrl: redis.url,
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await scenario.dump();
  });

  after(async function () {
    this.timeout(60_000);
    await controller?.close();
    await other?.close();
    await scenario?.stop();
    await redis?.stop();
  });

  // A client that ends its session on close (DELETE), as a well-behaved MCP client does.
  const connect = async (through: RunningController = controller) => {
    const client = new Client({ name: 'follow', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(
      new URL(`${through.url}/servers/everything/mcp`),
    );
    await client.connect(transport);
    const close = client.close.bind(client);
    client.close = async () => {
      await transport.terminateSession();
      await close();
    };
    return client;
  };
  const podOf = async (client: Client): Promise<string> => {
    const result = await client.callTool({ name: 'get-env', arguments: {} });
    return /POD_NAME[^a-z0-9-]+([a-z0-9-]+)/.exec(JSON.stringify(result.content))?.[1] ?? '';
  };

  it('scales up to ceil(sessions / sessionsPerReplica), spreads new sessions, and scales back down', async () => {
    const first = await connect();
    const second = await connect();
    assert.equal(await scenario.replicas(), 1, 'two sessions fit one replica');
    const third = await connect();
    await waitFor(
      async () => (await scenario.replicas()) === 2,
      10_000,
      'two replicas for three sessions',
    );
    const firstPod = await podOf(first);
    // The new pod gets sessions once it answers MCP: the next sessions land on the least loaded.
    let spread = false;
    const others: Client[] = [];
    for (let i = 0; i < 20 && !spread; i++) {
      const client = await connect();
      others.push(client);
      spread = (await podOf(client)) !== firstPod;
      if (!spread) {
        await client.close();
        others.pop();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    assert.ok(spread, 'a later session went to the second pod');
    assert.equal(await scenario.replicas(), 2, 'capped at maxReplicas');
    for (const client of [first, second, third, ...others]) await client.close();
    // No sessions left: back to one replica after the stabilization window (not to zero: that is
    // the idle timeout's job).
    await waitFor(async () => (await scenario.replicas()) === 1, 15_000, 'back to one replica');
  });

  it('counts the sessions of every controller replica: two through each makes two pods', async () => {
    // Each replica alone sees two sessions (one pod's worth); only the count they share says four.
    const opened = [
      await connect(controller),
      await connect(controller),
      await connect(other),
      await connect(other),
    ];
    await waitFor(
      async () => (await scenario.replicas()) === 2,
      30_000,
      'two replicas for two sessions through each controller',
    );
    for (const client of opened) await client.close();
    await waitFor(async () => (await scenario.replicas()) === 1, 30_000, 'back to one replica');
  });
});
