// Replies the gateway reads whole before deciding (a backend's 400 to an initialize, which may
// be a 2026-07-28-only server's -32022): a small one that is not a refusal is relayed byte for
// byte, and one that turns out large is relayed whole as it streams — nothing is lost.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.ts';
import { StaticFleet } from './static-fleet.ts';
import { startGateway, type RunningGateway } from './start-gateway.ts';

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 't', version: '1' },
  },
});

describe('gateway: small replies it looks at', function () {
  let upstream: RecordingUpstream;
  let gateway: RunningGateway;
  let reply = '';

  before(async function () {
    upstream = await startRecordingUpstream((_req, res) => {
      // Chunked (no content-length), as the official SDK v2 server answers.
      res.writeHead(400, { 'content-type': 'application/json' });
      for (let i = 0; i < reply.length; i += 4096) res.write(reply.slice(i, i + 4096));
      res.end();
    });
    gateway = await startGateway(new StaticFleet({ local: upstream.url }));
  });
  after(async function () {
    await gateway.close();
    await upstream.close();
  });

  const initialize = async () => {
    const res = await request(gateway.mcpUrl('local'), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: INITIALIZE,
    });
    return { status: res.statusCode, text: await res.body.text() };
  };

  it('relays a small 400 that is not a -32022 refusal exactly as it came', async function () {
    reply = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32602, message: 'bad params' },
    });
    assert.deepEqual(await initialize(), { status: 400, text: reply });
  });

  it('relays a 400 larger than it reads whole, complete, as it streams', async function () {
    const detail = 'x'.repeat(100_000);
    reply = JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32602, message: detail } });
    const { status, text } = await initialize();
    assert.equal(status, 400);
    assert.equal(text.length, reply.length, 'every byte arrived');
    assert.equal(text, reply);
  });
});
