import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { FleetError, type Lease } from '../../../controller/fleet/fleet.ts';
import { isAlive, waitFor } from '../support/processes.ts';
import { closeSharedStore, startTestFleet, waitForEvents, type TestFleet } from './harness.ts';
import { everythingHttp, everythingStdio, httpFixture, stdioFixture } from './specs.ts';

async function withClient<T>(lease: Lease, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ name: 'fleet-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(lease.upstream.url));
  await client.connect(transport);
  try {
    return await use(client);
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
}

function fleetError(code: FleetError['code'], status: number) {
  return (err: unknown) => {
    assert.ok(err instanceof FleetError, `expected FleetError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return true;
  };
}

describe('local fleet', function () {
  this.timeout(30_000);
  let t: TestFleet | undefined;

  afterEach(async () => {
    await t?.fleet.stop();
    t = undefined;
  });
  after(closeSharedStore);

  it('wakes a sleeping stdio server for a real client, sleeps it when idle, wakes it again', async () => {
    t = await startTestFleet([everythingStdio('everything')], {
      idleTimeoutOverrideMs: 300,
      drainGraceMs: 50,
    });
    const { fleet } = t;
    assert.equal(fleet.status('everything')?.state, 'asleep');

    const lease = await fleet.acquire('everything', { kind: 'request' });
    assert.equal(fleet.status('everything')?.state, 'ready');
    const tools = await withClient(lease, async (client) => (await client.listTools()).tools);
    assert.ok(tools.some((tool) => tool.name === 'echo'));
    lease.release();

    await t.waitForState('everything', 'asleep');
    assert.equal(fleet.status('everything')?.replicas, 0);
    const [wake] = await waitForEvents(t, 'everything', 'wake', 1);
    assert.ok(wake!.durationMs! > 0, 'the wake event carries its duration');
    const [sleep] = await waitForEvents(t, 'everything', 'sleep', 1);
    assert.equal(sleep!.message, 'idle for 300ms', 'durations as people read them');
    assert.match(wake!.message!, /^ready in \d+(ms|\.\ds)$/);
    assert.ok(lease.signal.aborted, 'leases of a sleeping replica are aborted');

    const again = await fleet.acquire('everything', { kind: 'request' });
    await withClient(again, (client) => client.ping());
    again.release();
    await waitForEvents(t, 'everything', 'wake', 2);
    const status = fleet.status('everything')!;
    assert.ok(status.lastWakeDurationMs! > 0);
    assert.equal(status.endpoint, '/servers/everything/mcp');
  });

  it('serves a streamable-http server on an allocated loopback port', async () => {
    t = await startTestFleet([everythingHttp('everything-http')]);
    const lease = await t.fleet.acquire('everything-http', { kind: 'request' });
    assert.match(lease.upstream.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    assert.doesNotMatch(lease.upstream.url, /:8080\//, 'a port we allocated, not the pod port');
    const result = await withClient(lease, (client) =>
      client.callTool({ name: 'echo', arguments: { message: 'via http' } }),
    );
    assert.match(JSON.stringify(result.content), /via http/);
    lease.release();
  });

  it('answers a stale session of a sleeping server with 404, without waking it', async () => {
    t = await startTestFleet([everythingStdio('everything')], { idleTimeoutOverrideMs: 60_000 });
    const { fleet } = t;
    await assert.rejects(
      fleet.acquire('everything', { kind: 'request', sessionId: 'from-before-the-sleep' }),
      fleetError('unknown-session', 404),
    );
    assert.equal(fleet.status('everything')?.state, 'asleep', 'no wake for a dead session');

    // A session the fleet saw opened gets an id of the gateway's, mapped to the backend's.
    const lease = await fleet.acquire('everything', { kind: 'request' });
    const id = await fleet.sessionOpened(
      'everything',
      { replicaId: lease.upstream.replicaId, sessionId: 'backend-session' },
      {},
    );
    lease.release();
    assert.match(id, /^[A-Za-z0-9_-]{32}$/);
    const again = await fleet.acquire('everything', { kind: 'request', sessionId: id });
    assert.equal(again.upstream.replicaId, lease.upstream.replicaId);
    assert.equal(again.upstream.sessionId, 'backend-session');
    again.release();
  });

  it('wakes exactly once for a burst of 200 concurrent requests', async () => {
    t = await startTestFleet([stdioFixture('burst', 'normal')]);
    const leases = await Promise.all(
      Array.from({ length: 200 }, () => t!.fleet.acquire('burst', { kind: 'request' })),
    );
    assert.equal(leases.length, 200);
    assert.equal(new Set(leases.map((l) => l.upstream.replicaId)).size, 1);
    assert.equal(t.fleet.status('burst')?.inFlight, 200);
    for (const lease of leases) lease.release();
    assert.equal(t.fleet.status('burst')?.inFlight, 0);
    await waitForEvents(t, 'burst', 'wake', 1);
    assert.equal((await t.events('burst', 'wake')).length, 1);
    const wakes = await t.metrics.wakes.get();
    assert.equal(wakes.values.find((v) => v.labels.server === 'burst')?.value, 1);
  });

  it('answers 503 overloaded with Retry-After when the hold queue is full', async () => {
    t = await startTestFleet(
      [stdioFixture('slow', 'silent', { health: { startupTimeoutMs: 1000 } })],
      { maxHeldPerServer: 5 },
    );
    const held = Array.from({ length: 5 }, () => t!.fleet.acquire('slow', { kind: 'request' }));
    await assert.rejects(t.fleet.acquire('slow', { kind: 'request' }), (err: unknown) => {
      fleetError('overloaded', 503)(err);
      assert.ok((err as FleetError).retryAfterSeconds! >= 1);
      return true;
    });
    for (const p of held) await assert.rejects(p, fleetError('wake-timeout', 504));
  });

  it('answers 504 within the deadline for a server that never becomes ready', async () => {
    t = await startTestFleet([
      stdioFixture('never', 'silent', { health: { startupTimeoutMs: 800 } }),
    ]);
    const started = Date.now();
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => t!.fleet.acquire('never', { kind: 'request' })),
    );
    const elapsed = Date.now() - started;
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      fleetError('wake-timeout', 504)((result as PromiseRejectedResult).reason);
    }
    assert.ok(elapsed >= 750 && elapsed < 1300, `504 after ${elapsed} ms, deadline 800 ms`);
    await waitForEvents(t, 'never', 'wake-timeout', 1);
    await t.waitForState('never', 'asleep');
    assert.equal(t.fleet.status('never')?.replicas, 0);
  });

  it('lets a client abort while held, without disturbing the others', async () => {
    t = await startTestFleet([
      stdioFixture('abort', 'silent', { health: { startupTimeoutMs: 1000 } }),
    ]);
    const controller = new AbortController();
    const aborted = t.fleet.acquire('abort', { kind: 'request', signal: controller.signal });
    const other = t.fleet.acquire('abort', { kind: 'request' });
    controller.abort();
    const started = Date.now();
    await assert.rejects(aborted, (err: unknown) => (err as Error).name === 'AbortError');
    assert.ok(Date.now() - started < 100, 'abort is immediate');
    const held = await t.metrics.heldRequests.get();
    assert.equal(held.values.find((v) => v.labels.server === 'abort')?.value, 1);
    await assert.rejects(other, fleetError('wake-timeout', 504));
  });

  it('restarts a server that crashes after starting, backing off more each time, and never fails it', async function () {
    this.timeout(60_000);
    t = await startTestFleet(
      [httpFixture('crashy', 'crash-after', { env: { FIXTURE_CRASH_MS: '300' } })],
      {
        crashLoop: { threshold: 3, windowMs: 30_000, baseBackoffMs: 50 },
      },
    );
    const lease = await t.fleet.acquire('crashy', { kind: 'request' });
    lease.release();
    // Each start succeeds (it answers MCP), so its crashes are restarted, not given up on:
    // the old rule made it `failed` after the third crash.
    const restarts = await waitForEvents(t, 'crashy', 'restart', 4, 15_000);
    const backoffs = restarts.map((e) => (e.data as { backoffMs: number }).backoffMs);
    assert.deepEqual(backoffs.slice(0, 4), [50, 100, 200, 400]);
    assert.ok(lease.signal.aborted);
    assert.equal((await t.events('crashy', 'failed')).length, 0);
    assert.notEqual(t.fleet.status('crashy')?.state, 'failed');
    assert.match(
      t.fleet.status('crashy')!.lastError!,
      /exited with code 1: fatal: http fixture crashing/,
    );
  });

  it('fails a stdio server whose process dies at start, with its stderr as the reason', async () => {
    t = await startTestFleet([stdioFixture('dies', 'crash-at-start')], {
      crashLoop: { threshold: 2, baseBackoffMs: 10 },
    });
    await assert.rejects(t.fleet.acquire('dies', { kind: 'request' }), (err: unknown) => {
      fleetError('failed', 503)(err);
      assert.match((err as Error).message, /fixture configured to crash at start/);
      return true;
    });
    // A wake within the backoff of a failed start (10 ms here) is refused without a start.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(t.fleet.acquire('dies', { kind: 'request' }), fleetError('failed', 503));
    assert.equal(t.fleet.status('dies')?.state, 'failed');
  });

  it('marks a server unhealthy when pings fail, and restarts it', async () => {
    t = await startTestFleet(
      [
        httpFixture('hangs', 'hang-after', {
          env: { FIXTURE_HANG_MS: '400' },
          health: { intervalMs: 100, timeoutMs: 150, failureThreshold: 2 },
        }),
      ],
      { crashLoop: { threshold: 10, baseBackoffMs: 20 } },
    );
    const lease = await t.fleet.acquire('hangs', { kind: 'request' });
    lease.release();
    const [unhealthy] = await waitForEvents(t, 'hangs', 'unhealthy', 1);
    assert.match(unhealthy!.message!, /2 consecutive health checks failed/);
    await waitForEvents(t, 'hangs', 'restart', 1);
    await waitForEvents(t, 'hangs', 'wake', 2);
    assert.ok((await t.events('hangs', 'health')).length >= 1);
  });

  it('cancels a drain when a request arrives, on the same replica', async () => {
    t = await startTestFleet([stdioFixture('drainy', 'normal')], {
      idleTimeoutOverrideMs: 150,
      drainGraceMs: 5000,
    });
    const first = await t.fleet.acquire('drainy', { kind: 'request' });
    first.release();
    await t.waitForState('drainy', 'draining');
    const second = await t.fleet.acquire('drainy', { kind: 'request' });
    assert.equal(t.fleet.status('drainy')?.state, 'ready');
    assert.equal(second.upstream.replicaId, first.upstream.replicaId);
    assert.equal(second.signal.aborted, false);
    await waitForEvents(t, 'drainy', 'drain-cancelled', 1);
    second.release();
    assert.equal((await t.events('drainy', 'sleep')).length, 0);
  });

  it('does not let a stream keep a server awake, and aborts the stream on sleep', async () => {
    t = await startTestFleet([stdioFixture('streamy', 'normal')], {
      idleTimeoutOverrideMs: 200,
      drainGraceMs: 20,
    });
    const request = await t.fleet.acquire('streamy', { kind: 'request' });
    const stream = await t.fleet.acquire('streamy', { kind: 'stream' });
    request.release();
    await t.waitForState('streamy', 'asleep');
    assert.ok(stream.signal.aborted);
    stream.release();
  });

  it('never puts a minReplicas > 0 server to sleep, and wakes it at start', async () => {
    t = await startTestFleet([stdioFixture('pinned', 'normal', { scaling: { minReplicas: 1 } })], {
      idleTimeoutOverrideMs: 50,
      drainGraceMs: 10,
    });
    await t.waitForState('pinned', 'ready');
    const lease = await t.fleet.acquire('pinned', { kind: 'request' });
    lease.release();
    // Many idle timeouts later, still awake.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(t.fleet.status('pinned')?.state, 'ready');
    assert.equal((await t.events('pinned', 'sleep')).length, 0);
  });

  it('drains and sleeps on request, waiting for in-flight requests', async () => {
    t = await startTestFleet([stdioFixture('manual', 'normal')]);
    const lease = await t.fleet.acquire('manual', { kind: 'request' });
    const sleeping = t.fleet.sleep('manual');
    await t.waitForState('manual', 'draining');
    assert.equal(lease.signal.aborted, false, 'in-flight request keeps its upstream');
    lease.release();
    const status = await sleeping;
    assert.equal(status.state, 'asleep');
  });

  it('reports servers it cannot run as unavailable, with the reason', async () => {
    const image = {
      ...stdioFixture('image', 'normal'),
      local: { runnable: false as const, reason: 'an OCI image needs a container runtime' },
    };
    const uvx = {
      ...stdioFixture('needs-uvx', 'normal'),
      local: {
        runnable: true as const,
        command: 'uvx-not-installed',
        args: [],
        requires: ['uvx-not-installed'],
      },
    };
    t = await startTestFleet([image, uvx]);
    assert.equal(t.fleet.status('image')?.state, 'unavailable');
    assert.match(t.fleet.status('needs-uvx')!.lastError!, /needs uvx-not-installed on PATH/);
    await assert.rejects(
      t.fleet.acquire('image', { kind: 'request' }),
      fleetError('unavailable', 503),
    );
    await assert.rejects(
      t.fleet.acquire('nope', { kind: 'request' }),
      fleetError('unknown-server', 404),
    );
  });

  it('stops every child process on stop()', async () => {
    t = await startTestFleet([everythingStdio('a'), stdioFixture('b', 'normal')]);
    const leases = await Promise.all([
      t.fleet.acquire('a', { kind: 'request' }),
      t.fleet.acquire('b', { kind: 'request' }),
    ]);
    const { liveChildPids } = await import('../../../controller/bridge/process-group.ts');
    const pids = liveChildPids();
    assert.ok(pids.length >= 2);
    const events = t.events;
    await t.fleet.stop();
    t = undefined;
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
    const shutdowns = [...(await events('a', 'shutdown')), ...(await events('b', 'shutdown'))];
    assert.equal(shutdowns.length, 2, 'the shutdown is recorded for each awake server');
    for (const lease of leases) assert.ok(lease.signal.aborted);
    await waitFor(() => true);
  });
});
