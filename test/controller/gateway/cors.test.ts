// Browser clients: CORS preflight and readable responses for origins the DNS-rebinding
// check accepts, nothing for the others, and the backend's own CORS headers replaced.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.ts';
import { StaticFleet } from './static-fleet.ts';
import { startGateway, type RunningGateway } from './start-gateway.ts';

const LOCAL_PAGE = 'http://localhost:6274';

describe('gateway CORS', function () {
  let upstream: RecordingUpstream;
  let gateway: RunningGateway;

  before(async function () {
    upstream = await startRecordingUpstream((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'mcp-session-id': 'sess-1',
        // What server-everything sends; the gateway must not pass it on.
        'access-control-allow-origin': '*',
      });
      res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
    gateway = await startGateway(new StaticFleet({ local: upstream.url }), {
      allowedOrigins: ['https://app.example.com'],
    });
  });
  after(async function () {
    await gateway.close();
    await upstream.close();
  });

  it('answers a preflight from an accepted origin, without bothering the backend', async function () {
    const before = upstream.requests.length;
    for (const origin of [LOCAL_PAGE, 'https://app.example.com']) {
      const res = await request(gateway.mcpUrl('local'), {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, mcp-session-id, mcp-protocol-version',
        },
      });
      await res.body.dump();
      assert.equal(res.statusCode, 204);
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.match(String(res.headers['access-control-allow-methods']), /POST/);
      for (const name of [
        'content-type',
        'mcp-session-id',
        'mcp-protocol-version',
        'last-event-id',
      ])
        assert.match(String(res.headers['access-control-allow-headers']), new RegExp(name));
    }
    assert.equal(upstream.requests.length, before);
  });

  it('refuses a preflight from a foreign origin with 403 and no CORS grant', async function () {
    const res = await request(gateway.mcpUrl('local'), {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    await res.body.dump();
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  it("grants the caller's origin on proxied replies, replacing the backend's `*`", async function () {
    const res = await request(gateway.mcpUrl('local'), {
      method: 'POST',
      headers: {
        origin: LOCAL_PAGE,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['access-control-allow-origin'], LOCAL_PAGE);
    assert.match(String(res.headers['access-control-expose-headers']), /mcp-session-id/);
    assert.match(String(res.headers['access-control-expose-headers']), /www-authenticate/);
    assert.equal(res.headers['mcp-session-id'], 'sess-1');
  });

  it("makes the gateway's own errors readable too (a lost session's 404)", async function () {
    const res = await request(gateway.mcpUrl('nope'), {
      method: 'POST',
      headers: { origin: LOCAL_PAGE, 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    await res.body.dump();
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['access-control-allow-origin'], LOCAL_PAGE);
  });

  it('adds no CORS headers for callers that send no Origin (non-browser clients)', async function () {
    const res = await request(gateway.mcpUrl('local'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    await res.body.dump();
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });
});
