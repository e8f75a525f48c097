// One client cannot hold every session: through a real controller (gateway, fleet, local
// runtime, stdio bridge, real SDK server processes), clients on distinct loopback addresses
// open sessions until a limit refuses them — the per-client limit with 429, the server's
// capacity (maxReplicas × sessionsPerReplica) with 503 — and a session kept alive by pings
// alone is ended after the server's idle timeout, its process with it.
import assert from 'node:assert/strict';
import type { WorkloadSpec } from '../../../registry/catalog/spec.ts';
import { closeSharedStore, startTestFleet, type TestFleet } from '../fleet/harness.ts';
import { sessionStateServer } from '../fleet/specs.ts';
import { startGateway, type RunningGateway } from '../gateway/start-gateway.ts';
import { isAlive, waitFor } from '../support/processes.ts';
import { clientAt, type Answer, type ClientAt } from './client-at.ts';
import { CLIENT_HEADER_VARIABLE } from '../../../controller/sessions/client-key.ts';

const STATE_CALL = { name: 'session-state', arguments: {} };

/** The pid session-state-server reports for the process behind a session. */
function pidOf(answer: Answer): number {
  const result = answer.message.result as { content: { text: string }[] };
  return (JSON.parse(result.content[0]!.text) as { pid: number }).pid;
}

function withSessions(
  spec: WorkloadSpec,
  sessions: Partial<WorkloadSpec['sessions']>,
  scaling: Partial<WorkloadSpec['scaling']> = {},
): WorkloadSpec {
  return {
    ...spec,
    sessions: { ...spec.sessions, ...sessions },
    scaling: { ...spec.scaling, ...scaling },
  };
}

describe('session limits (issue 12: one client cannot hold every session)', function () {
  this.timeout(60_000);
  let t: TestFleet;
  let gateway: RunningGateway;
  const clients: ClientAt[] = [];
  const client = (n: number): ClientAt => {
    const c = clientAt(`127.0.0.${n}`);
    clients.push(c);
    return c;
  };

  before(async function () {
    t = await startTestFleet(
      [
        withSessions(sessionStateServer('per-client'), { maxPerClient: 2 }),
        // 1 replica × 2 sessions: exactly two sessions, whoever holds them.
        withSessions(
          sessionStateServer('capacity'),
          { maxPerClient: 2 },
          { maxReplicas: 1, sessionsPerReplica: 2 },
        ),
        withSessions(sessionStateServer('idle'), { idleTimeoutMs: 1500 }),
      ],
      { drainGraceMs: 50 },
    );
    gateway = await startGateway(t.fleet);
  });

  after(async function () {
    await Promise.all(clients.map((c) => c.close()));
    await gateway?.close();
    await t?.fleet.stop();
    await closeSharedStore();
  });

  it('refuses a client its third session with 429, naming the limit, while others still get theirs', async function () {
    const url = gateway.mcpUrl('per-client');
    const a = client(2);
    const b = client(3);
    const first = await a.initialize(url);
    const second = await a.initialize(url);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const third = await a.initialize(url);
    assert.equal(third.status, 429, JSON.stringify(third.message));
    assert.equal(third.sessionId, undefined);
    assert.ok(Number(third.headers['retry-after']) >= 1, 'Retry-After says when to retry');
    assert.match(third.message.error!.message, /sessions\.maxPerClient/);
    assert.deepEqual(third.message.error!.data, {
      reason: 'session-limit',
      limit: 2,
      setting: 'sessions.maxPerClient',
    });
    // Another client is not affected.
    assert.equal((await b.initialize(url)).status, 200);
    // Ending one of its sessions gives the client room again.
    assert.equal(await a.end(url, first.sessionId!), 200);
    assert.equal((await a.initialize(url)).status, 200);
    const counted = await t.metrics.registry.getSingleMetricAsString(
      'mcpfleet_rejected_requests_total',
    );
    assert.match(counted, /server="per-client",reason="session-limit"} 1/);
  });

  it('gives a burst of 20 concurrent initializes from one client exactly its 2 sessions', async function () {
    const url = gateway.mcpUrl('per-client');
    const greedy = client(10);
    const answers = await Promise.all(Array.from({ length: 20 }, () => greedy.initialize(url)));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [...Array(2).fill(200), ...Array(18).fill(429)]);
  });

  it('behind a proxy, MCPFLEET_CLIENT_HEADER tells the clients of one address apart', async function () {
    const url = gateway.mcpUrl('per-client');
    const proxied = (ip: string): ClientAt => {
      const c = clientAt('127.0.0.9', { 'x-real-ip': ip });
      clients.push(c);
      return c;
    };
    const alice = proxied('10.0.0.1');
    const bob = proxied('10.0.0.2');
    process.env[CLIENT_HEADER_VARIABLE] = 'X-Real-IP';
    try {
      assert.equal((await alice.initialize(url)).status, 200);
      assert.equal((await alice.initialize(url)).status, 200);
      assert.equal((await alice.initialize(url)).status, 429);
      assert.equal((await bob.initialize(url)).status, 200, 'another client behind the proxy');
    } finally {
      delete process.env[CLIENT_HEADER_VARIABLE];
    }
  });

  it('takes exactly maxReplicas × sessionsPerReplica sessions (1 × 2), then refuses with 503', async function () {
    const url = gateway.mcpUrl('capacity');
    const opened = [await client(4).initialize(url), await client(5).initialize(url)];
    for (const answer of opened) assert.equal(answer.status, 200);
    const third = await client(6).initialize(url);
    assert.equal(third.status, 503, JSON.stringify(third.message));
    assert.ok(third.headers['retry-after']);
    assert.equal((third.message.error!.data as { reason: string }).reason, 'at-capacity');
    assert.match(
      third.message.error!.message,
      /holds 2 session\(s\).*maxReplicas × sessionsPerReplica/,
    );
    // The sessions it took work.
    const state = await clients[clients.length - 3]!.request(
      url,
      opened[0]!.sessionId,
      'tools/list',
    );
    assert.equal(state.status, 200);
  });

  it('ends a session kept alive only by pings and an open GET stream after the idle timeout, and its process', async function () {
    const url = gateway.mcpUrl('idle');
    const pinger = client(7);
    const worker = client(8);
    const pinged = await pinger.initialize(url);
    const worked = await worker.initialize(url);
    assert.equal(pinged.status, 200);
    assert.equal(t.fleet.status('idle')!.sessions, 2);
    const pid = pidOf(await pinger.request(url, pinged.sessionId, 'tools/call', STATE_CALL));
    // It listens too: an open GET stream does not keep a session either.
    const stream = await pinger.listen(url, pinged.sessionId!);
    assert.equal(stream.status, 200);
    // Both keep talking well within the 1.5 s timeout: one only pings, one makes requests.
    let pingStatus = 200;
    let workStatus = 200;
    let talking = true;
    const talk = (async () => {
      while (talking) {
        pingStatus = (await pinger.request(url, pinged.sessionId, 'ping')).status;
        workStatus = (await worker.request(url, worked.sessionId, 'tools/list')).status;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      await waitFor(() => pingStatus === 404, 15_000, 'the pinged session to end');
    } finally {
      talking = false;
      await talk;
    }
    assert.equal(workStatus, 200, 'a session in use is not idle');
    await waitFor(() => t.fleet.status('idle')!.sessions === 1, 5000, 'one live session');
    const expired = await t.events('idle', 'session-expired');
    assert.equal(expired.length, 1);
    await waitFor(() => !isAlive(pid), 5000, "the idle session's process to exit");
    await stream.ended;
  });
});
