// A crash is one session's; the server fails only when starting it fails. Against a real
// local fleet: a stdio server behind the bridge, one child per session, real SDK clients.
//   - sessions whose processes crash one after the other (more than the threshold, within the
//     window) end alone: the server stays ready and another user's session serves on
//     (before: three crashes in any sessions made the server `failed` and killed every session);
//   - processes that die before answering initialize are failed starts: a run of them fails
//     the server, with the reason;
//   - a failed start makes the next wake wait out its backoff (503 + Retry-After).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { FleetError, type Lease } from '../../../controller/fleet/fleet.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { closeSharedStore, startTestFleet, waitForEvents, type TestFleet } from './harness.ts';
import { stdioFixture } from './specs.ts';

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'containment-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

function sessionOf(client: Client): string {
  return (client.transport as StreamableHTTPClientTransport).sessionId!;
}

describe('crash containment', function () {
  this.timeout(60_000);
  let t: TestFleet | undefined;
  let lease: Lease | undefined;
  const clients: Client[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
    lease?.release();
    lease = undefined;
    await t?.fleet.stop();
    t = undefined;
  });
  after(closeSharedStore);

  it("ends only the crashed sessions: the server stays ready, another user's session serves on", async () => {
    t = await startTestFleet([stdioFixture('contained', 'normal')], {
      crashLoop: { threshold: 3, windowMs: 60_000, baseBackoffMs: 10 },
    });
    lease = await t.fleet.acquire('contained', { kind: 'request' });
    const url = lease.upstream.url;
    const survivor = await connect(url);
    clients.push(survivor);

    for (let i = 0; i < 5; i++) {
      const victim = await connect(url);
      clients.push(victim);
      await assert.rejects(victim.callTool({ name: 'crash', arguments: {} }));
      // Its session is gone: 404 and the SDK's session-not-found code, so it re-initializes.
      const after = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'mcp-session-id': sessionOf(victim),
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }),
      });
      assert.equal(after.status, 404);
      assert.equal(((await after.json()) as { error: { code: number } }).error.code, -32001);
    }
    await waitForEvents(t, 'contained', 'crash', 5);
    const crashes = await t.events('contained', 'crash');
    assert.ok(crashes.every((e) => (e.data as { scope?: string }).scope === 'session'));
    assert.match(
      crashes[0]!.message!,
      /exited with code 3.*; that session ended, the server serves on/s,
    );

    assert.equal(t.fleet.status('contained')?.state, 'ready');
    assert.equal((await t.events('contained', 'failed')).length, 0);
    assert.equal(lease.signal.aborted, false, 'the replica was not taken away');
    const result = await survivor.callTool({ name: 'echo', arguments: { still: 'here' } });
    assert.match(JSON.stringify(result.content), /still/);
  });

  it('fails the server after a run of processes that die before answering initialize', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-starts-'));
    const breakStarts = path.join(dir, 'broken');
    try {
      t = await startTestFleet(
        [stdioFixture('starts', 'normal', { env: { FIXTURE_CRASH_IF_FILE: breakStarts } })],
        { crashLoop: { threshold: 3, windowMs: 60_000, baseBackoffMs: 10 } },
      );
      lease = await t.fleet.acquire('starts', { kind: 'request' });
      const url = lease.upstream.url;
      // From now on, every process of the server that starts dies at once.
      await writeFile(breakStarts, '');
      for (
        let attempt = 1;
        attempt <= 6 && t.fleet.status('starts')?.state === 'ready';
        attempt++
      ) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: initializeBody(),
        }).catch(() => undefined); // the replica may be taken away under this request
        if (res) {
          const text = await res.text();
          // The spare booted before the break may take the first one; a new process dies.
          if (!res.ok || text.includes('"error"'))
            assert.match(
              text,
              /exited with code 1.*fixture configured to crash at start|going away|bridge closed/s,
            );
        }
      }
      await t.waitForState('starts', 'failed');
      const status = t.fleet.status('starts')!;
      assert.match(status.lastError!, /3 failed starts in a row/);
      assert.match(status.lastError!, /did not start: it exited with code 1.*crash at start/s);
      const starts = await t.events('starts', 'crash');
      assert.ok(
        starts.length >= 3 && starts.every((e) => (e.data as { scope?: string }).scope === 'start'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('makes a wake after a failed start wait out the backoff, with Retry-After', async () => {
    t = await startTestFleet([stdioFixture('backoff', 'crash-at-start')], {
      crashLoop: { threshold: 5, baseBackoffMs: 20_000 },
    });
    await assert.rejects(t.fleet.acquire('backoff', { kind: 'request' }), /could not start/);
    await assert.rejects(t.fleet.acquire('backoff', { kind: 'request' }), (err: unknown) => {
      assert.ok(err instanceof FleetError, String(err));
      assert.equal(err.status, 503);
      assert.equal(err.code, 'failed');
      assert.equal(err.retryAfterSeconds, 20);
      assert.match(err.message, /could not start: .*crash at start/s);
      return true;
    });
    // The refusal started no process: one wake, one failed start.
    assert.equal((await t.events('backoff', 'wake-failed')).length, 1);
    assert.equal(t.fleet.status('backoff')?.state, 'asleep');
  });
});
