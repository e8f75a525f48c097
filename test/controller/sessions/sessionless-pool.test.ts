// The bridge's sessionless processes stay bounded: a real bridge in front of the real SDK
// server of session-state-server.ts, with sessionless requests of several clients (the
// gateway's mcpfleet-client pseudonym): each client keeps its own process while it is among
// the most recent, a newcomer past the bound takes the least recently used one's place (that
// process exits), and one unused for the idle time is stopped.
import assert from 'node:assert/strict';
import { startStdioBridge, type StdioBridge } from '../../../controller/bridge/stdio-bridge.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { BRIDGE_CLIENT_HEADER } from '../../../controller/sessions/client-key.ts';
import { SESSION_STATE_SERVER, isAlive, waitFor } from '../support/processes.ts';

describe('sessionless processes per client, bounded (issue 12)', function () {
  this.timeout(60_000);
  let bridge: StdioBridge;

  before(async function () {
    bridge = await startStdioBridge({
      command: { command: process.execPath, args: [SESSION_STATE_SERVER] },
      logger: silentLogger(),
      warmSpares: 0,
      maxSessionless: 2,
      sessionlessIdleMs: 1500,
    });
  });

  after(async function () {
    await bridge?.close();
  });

  async function pidFor(client: string): Promise<number> {
    const res = await fetch(bridge.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        [BRIDGE_CLIENT_HEADER]: client,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'session-state', arguments: {} },
      }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const line = text.startsWith('{')
      ? text
      : text
          .split('\n')
          .find((l) => l.startsWith('data: '))!
          .slice(6);
    const result = (JSON.parse(line) as { result: { content: { text: string }[] } }).result;
    return (JSON.parse(result.content[0]!.text) as { pid: number }).pid;
  }

  it('keeps a process per client, replaces the least recently used past the bound, reaps idle ones', async function () {
    const a = await pidFor('client-a');
    const b = await pidFor('client-b');
    assert.notEqual(a, b);
    assert.equal(await pidFor('client-a'), a, 'a client keeps its process');
    // A third client: b was used least recently, so b's process goes.
    const c = await pidFor('client-c');
    assert.ok(![a, b].includes(c));
    await waitFor(() => !isAlive(b), 5000, "the least recently used client's process to exit");
    assert.ok(isAlive(a));
    assert.ok(bridge.childCount() <= 2, `${bridge.childCount()} children`);
    // Unused for the idle time: stopped.
    await waitFor(() => !isAlive(a) && !isAlive(c), 10_000, 'idle sessionless processes to stop');
    assert.equal(bridge.childCount(), 0);
  });
});
