// Sessionless clients do not share per-session state: through a real controller to a real
// SDK stdio server that keeps state per process (session-state-server.ts), what one client
// sets up without a session — a 2025 request sent without initialize, or a 2026-07-28 request
// the gateway translates into a backend session it holds — the other client does not see,
// even with the very same client info. Before, every sessionless client shared one process.
import assert from 'node:assert/strict';
import { closeSharedStore, startTestFleet, type TestFleet } from '../fleet/harness.ts';
import { sessionStateServer } from '../fleet/specs.ts';
import { startGateway, type RunningGateway } from '../gateway/start-gateway.ts';
import { clientAt, type Answer, type ClientAt } from './client-at.ts';
import { isAlive, waitFor } from '../support/processes.ts';
import { BRIDGE_CLIENT_HEADER, clientPseudonym } from '../../../controller/sessions/client-key.ts';

const MODERN = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'same-app', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

interface State {
  pid: number;
  subscriptions: string[];
}

function stateOf(answer: Answer): State {
  assert.equal(answer.status, 200, JSON.stringify(answer.message));
  const result = answer.message.result as { content: { text: string }[] };
  return JSON.parse(result.content[0]!.text) as State;
}

describe('sessionless clients do not share state (issue 12)', function () {
  this.timeout(60_000);
  let t: TestFleet;
  let gateway: RunningGateway;
  let a: ClientAt;
  let b: ClientAt;

  before(async function () {
    t = await startTestFleet(
      [sessionStateServer('sessionless-legacy'), sessionStateServer('sessionless-modern')],
      {
        drainGraceMs: 50,
      },
    );
    gateway = await startGateway(t.fleet);
    a = clientAt('127.0.0.21');
    b = clientAt('127.0.0.22');
  });

  after(async function () {
    await a?.close();
    await b?.close();
    await gateway?.close();
    await t?.fleet.stop();
    await closeSharedStore();
  });

  it('a 2025 request without a session: client B does not read what client A subscribed', async function () {
    const url = gateway.mcpUrl('sessionless-legacy');
    const subscribed = await a.request(url, undefined, 'resources/subscribe', { uri: 'test://a' });
    assert.equal(subscribed.status, 200, JSON.stringify(subscribed.message));
    const seenByA = stateOf(
      await a.request(url, undefined, 'tools/call', { name: 'session-state', arguments: {} }),
    );
    const seenByB = stateOf(
      await b.request(url, undefined, 'tools/call', { name: 'session-state', arguments: {} }),
    );
    assert.deepEqual(seenByA.subscriptions, ['test://a'], 'A keeps its own state');
    assert.deepEqual(seenByB.subscriptions, [], "B does not see A's subscription");
    assert.notEqual(seenByA.pid, seenByB.pid);
  });

  it("a client cannot pass for another by sending the bridge's client header itself", async function () {
    const url = gateway.mcpUrl('sessionless-legacy');
    const mine = await a.request(url, undefined, 'resources/subscribe', { uri: 'test://mine' });
    assert.equal(mine.status, 200);
    // What the gateway sends the bridge for A; another client claims it.
    const impostor = clientAt('127.0.0.23', {
      [BRIDGE_CLIENT_HEADER]: clientPseudonym('127.0.0.21'),
    });
    try {
      const seen = stateOf(
        await impostor.request(url, undefined, 'tools/call', {
          name: 'session-state',
          arguments: {},
        }),
      );
      assert.ok(
        !seen.subscriptions.includes('test://mine'),
        "the impostor does not reach A's process",
      );
    } finally {
      await impostor.close();
    }
  });

  it('a 2026-07-28 request the gateway translates: the same client info does not make two clients one', async function () {
    const url = gateway.mcpUrl('sessionless-modern');
    const call = (client: ClientAt) =>
      client.post(
        url,
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'session-state', arguments: {}, _meta: ENVELOPE },
        },
        { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'session-state' },
      );
    const first = stateOf(await call(a));
    assert.equal(stateOf(await call(a)).pid, first.pid, 'one client keeps its backend session');
    assert.notEqual(stateOf(await call(b)).pid, first.pid, 'another client gets its own');
  });

  it("a 2026-07-28 client varying its client info holds at most 8 backend sessions, its own oldest going first, never another client's", async function () {
    const url = gateway.mcpUrl('sessionless-modern');
    const call = (client: ClientAt, name: string) =>
      client.post(
        url,
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: {
            name: 'session-state',
            arguments: {},
            _meta: { ...ENVELOPE, 'io.modelcontextprotocol/clientInfo': { name, version: '1' } },
          },
        },
        { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'session-state' },
      );
    const others = stateOf(await call(b, 'b-app')).pid;
    const pids: number[] = [];
    for (let i = 0; i < 9; i++) pids.push(stateOf(await call(a, `greedy-${i}`)).pid);
    assert.equal(new Set(pids).size, 9, 'a backend session per envelope');
    await waitFor(() => !isAlive(pids[0]!), 5000, "the client's own oldest backend session to end");
    for (const pid of [...pids.slice(1), others]) assert.ok(isAlive(pid));
  });
});
