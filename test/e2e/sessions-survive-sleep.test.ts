// A client's session outlives its backend: real SDK clients through the gateway, a server put
// to sleep by its idle timeout (or its process killed) under them. The next call on the same
// session wakes the server, the gateway replays the client's own initialize, log level and
// subscriptions to the new backend, and the call is answered. A server that opts out
// (`sessions.resume: false`) answers 404 instead, as before.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startTestFleet, waitForEvents, type TestFleet } from '../controller/fleet/harness.ts';
import { everythingHttp, sessionStateServer } from '../controller/fleet/specs.ts';
import { startGateway, type RunningGateway } from '../controller/gateway/start-gateway.ts';
import { isAlive, waitFor } from '../controller/support/processes.ts';

interface SessionState {
  pid: number;
  client: { name: string; version: string };
  capabilities: { roots?: { listChanged?: boolean } };
  logLevel?: string;
  subscriptions: string[];
}

const IDLE_MS = 800;

describe('sessions that survive sleep (SDK clients through the gateway)', function () {
  this.timeout(60_000);
  let t: TestFleet;
  let gateway: RunningGateway;
  const clients: Client[] = [];

  before(async function () {
    t = await startTestFleet(
      [
        sessionStateServer('stateful'),
        sessionStateServer('opted-out', { resume: false }),
        sessionStateServer('crowd'),
        sessionStateServer('ended'),
        sessionStateServer('killed'),
        everythingHttp('resumed-http'),
      ],
      { idleTimeoutOverrideMs: IDLE_MS, drainGraceMs: 50 },
    );
    gateway = await startGateway(t.fleet);
  });
  after(async function () {
    for (const client of clients) await client.close().catch(() => {});
    await gateway?.close();
    await t?.fleet.stop();
  });

  /** An SDK client on `slug`, with client info and capabilities of its own. */
  async function connect(slug: string, fetchFn?: typeof fetch) {
    const transport = new StreamableHTTPClientTransport(new URL(gateway.mcpUrl(slug)), {
      ...(fetchFn ? { fetch: fetchFn } : {}),
      reconnectionOptions: {
        initialReconnectionDelay: 50,
        maxReconnectionDelay: 200,
        reconnectionDelayGrowFactor: 2,
        maxRetries: 20,
      },
    });
    const client = new Client(
      { name: 'desktop', version: '7.1.0' },
      { capabilities: { roots: { listChanged: true } } },
    );
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  const state = async (client: Client): Promise<SessionState> => {
    const result = await client.callTool({ name: 'session-state', arguments: {} });
    return JSON.parse((result.content as [{ text: string }])[0].text) as SessionState;
  };

  /** A raw ping in `sessionId`, as any client would send it. */
  const pingIn = (slug: string, sessionId: string) =>
    fetch(gateway.mcpUrl(slug), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });

  const asleep = (slug: string, sleeps = 1) => waitForEvents(t, slug, 'sleep', sleeps);

  it('answers a call after the server slept, on the same session, replayed whole', async () => {
    const { client, transport } = await connect('stateful');
    const before = await state(client);
    await client.setLoggingLevel('warning');
    await client.subscribeResource({ uri: 'test://state' });
    const sessionId = transport.sessionId;
    await asleep('stateful');

    const after = await state(client);
    assert.notEqual(after.pid, before.pid, 'a new process answered');
    assert.deepEqual(after.client, { name: 'desktop', version: '7.1.0' }, 'its own client info');
    assert.equal(after.capabilities.roots?.listChanged, true, 'its own capabilities');
    assert.equal(after.logLevel, 'warning', 'log level replayed');
    assert.deepEqual(after.subscriptions, ['test://state'], 'subscriptions replayed');
    assert.equal(transport.sessionId, sessionId, 'the client kept its session id');
    assert.match(sessionId!, /^[A-Za-z0-9_-]{32}$/, "the gateway's own id, not the backend's");
    const resumed = await t.events('stateful', 'session-resumed');
    assert.equal(resumed.length, 1);
  });

  it('parks the GET stream while asleep (no wake), and re-attaches it after the resume', async () => {
    // Records the status of every GET the client opens, as it arrives.
    const gets: number[] = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'GET') gets.push(res.status);
      return res;
    };
    const { client } = await connect('stateful', recording);
    await client.subscribeResource({ uri: 'test://state' });
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await waitFor(() => gets.length >= 1, 5_000, 'the client to open its GET stream');
    const sleepsBefore = (await t.events('stateful', 'sleep')).length;
    await asleep('stateful', sleepsBefore + 1);
    const getsAtSleep = gets.length;
    // The stream ended with the backend; the client reconnects and is answered at once.
    await waitFor(() => gets.length > getsAtSleep, 5_000, 'the client to reopen its GET stream');
    assert.equal(gets.at(-1), 200);
    assert.equal(t.fleet.status('stateful')?.state, 'asleep', 'a GET stream does not wake it');

    await client.callTool({ name: 'notify-subscribers', arguments: {} });
    await waitFor(() => updates.length > 0, 5_000, 'the update on the re-attached GET stream');
    assert.deepEqual(updates, ['test://state']);
  });

  it('answers 404 after the sleep where the server opted out of resuming', async () => {
    const { client } = await connect('opted-out');
    await state(client);
    await asleep('opted-out');
    await assert.rejects(
      state(client),
      (err: unknown) => err instanceof StreamableHTTPError && err.code === 404,
    );
    assert.equal(t.fleet.status('opted-out')?.state, 'asleep', 'no wake for a dead session');
    assert.equal((await t.events('opted-out', 'session-resumed')).length, 0);
  });

  it('replays once for a burst of calls on the same session', async () => {
    const { client } = await connect('crowd');
    await state(client);
    await asleep('crowd');
    const states = await Promise.all(Array.from({ length: 8 }, () => state(client)));
    assert.equal(new Set(states.map((s) => s.pid)).size, 1, 'one backend session');
    assert.equal((await t.events('crowd', 'session-resumed')).length, 1);
    assert.equal((await t.events('crowd', 'wake')).length, 2);
  });

  it('ends a sleeping server’s session on DELETE without waking it', async () => {
    const { client, transport } = await connect('ended');
    await state(client);
    await asleep('ended');
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    assert.equal(t.fleet.status('ended')?.state, 'asleep');
    const again = await pingIn('ended', sessionId);
    assert.equal(again.status, 404);
    assert.equal(t.fleet.status('ended')?.state, 'asleep');
  });

  it('ends an awake session on DELETE: its process goes, and the id is then unknown', async () => {
    const { client, transport } = await connect('ended');
    const { pid } = await state(client);
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    await waitFor(() => !isAlive(pid), 5_000, 'the session process to exit');
    const again = await pingIn('ended', sessionId);
    assert.equal(again.status, 404);
  });

  it('replays the session when its process died under it while awake', async () => {
    const { client } = await connect('killed');
    const before = await state(client);
    process.kill(before.pid, 'SIGKILL');
    await waitFor(
      async () => (await t.events('killed', 'crash')).length > 0 || !isAlive(before.pid),
      5_000,
      'the process to die',
    );
    const after = await state(client);
    assert.notEqual(after.pid, before.pid);
    assert.equal(after.client.name, 'desktop');
  });

  it('resumes through a Streamable HTTP backend too (server-everything)', async () => {
    const { client, transport } = await connect('resumed-http');
    const echo = () => client.callTool({ name: 'echo', arguments: { message: 'still here' } });
    assert.match(JSON.stringify((await echo()).content), /still here/);
    const sessionId = transport.sessionId;
    await asleep('resumed-http');
    assert.match(JSON.stringify((await echo()).content), /still here/);
    assert.equal(transport.sessionId, sessionId);
    assert.equal((await t.events('resumed-http', 'session-resumed')).length, 1);
  });
});
