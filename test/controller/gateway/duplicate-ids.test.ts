// A JSON-RPC batch whose requests share an id never reaches a server: the gateway answers it
// 400 with -32600 naming the id (no answer could be matched to its request). Through a real
// controller (local fleet, gateway) to server-everything's own Streamable HTTP server, which
// otherwise answers one of the two and loses the other.
import assert from 'node:assert/strict';
import { closeSharedStore, startTestFleet, type TestFleet } from '../fleet/harness.ts';
import { everythingHttp } from '../fleet/specs.ts';
import { startGateway, type RunningGateway } from './start-gateway.ts';

const BATCH_ERA = '2025-03-26'; // the last revision with JSON-RPC batches

describe('gateway: a batch with duplicate request ids', function () {
  this.timeout(30_000);
  let t: TestFleet;
  let gateway: RunningGateway;

  before(async () => {
    t = await startTestFleet([everythingHttp('dup-ids')]);
    gateway = await startGateway(t.fleet);
  });
  after(async () => {
    await gateway.close();
    await t.fleet.stop();
    await closeSharedStore();
  });

  it('is refused with 400 and -32600 naming the id, and the session serves on', async () => {
    const url = gateway.mcpUrl('dup-ids');
    const base = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': BATCH_ERA,
    };
    const init = await fetch(url, {
      method: 'POST',
      headers: base,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: BATCH_ERA,
          capabilities: {},
          clientInfo: { name: 'dup', version: '1' },
        },
      }),
    });
    assert.equal(init.status, 200);
    await init.text();
    const headers = { ...base, 'mcp-session-id': init.headers.get('mcp-session-id')! };
    const initialized = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    assert.equal(initialized.status, 202);
    await initialized.text();

    const echo = (id: number, message: string) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message } },
    });
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify([echo(1, 'first'), echo(1, 'second')]),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { id: unknown; error: { code: number; message: string } };
    assert.equal(body.id, null);
    assert.equal(body.error.code, -32600);
    assert.match(body.error.message, /id 1 is used by more than one request of this batch/);

    const ping = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
    });
    assert.equal(ping.status, 200);
    assert.match(await ping.text(), /"id":2/);
  });
});
