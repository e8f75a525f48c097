// What crosses the proxy: end-to-end headers both ways, hop-by-hop ones dropped, upstream
// auth headers added, and both protocol styles (sessions; 2026-07-28 sessionless POST).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.ts';
import { StaticFleet } from './static-fleet.ts';
import { startGateway, type RunningGateway } from './start-gateway.ts';

describe('gateway headers and protocol styles', function () {
  let upstream: RecordingUpstream;
  let fleet: StaticFleet;
  let gateway: RunningGateway;

  before(async function () {
    upstream = await startRecordingUpstream((req, res) => {
      if (req.body.includes('"server/discover"')) {
        // A server of both eras: the gateway's era probe learns it may pass 2026-07-28 as is.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          '{"jsonrpc":"2.0","id":"mcpfleet-discover","result":{"supportedVersions":["2026-07-28"],"capabilities":{}}}',
        );
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        'mcp-session-id': 'sess-from-upstream',
        'mcp-protocol-version': '2025-11-25',
        'x-upstream': 'yes',
        'keep-alive': 'timeout=5',
      });
      res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
    fleet = new StaticFleet({
      remote: {
        url: upstream.url,
        replicaId: 'remote-a',
        headers: { Authorization: 'Bearer from-secret' },
      },
      local: upstream.url,
    });
    gateway = await startGateway(fleet);
  });
  after(async function () {
    await gateway.close();
    await upstream.close();
  });
  beforeEach(function () {
    upstream.requests.length = 0;
    fleet.opened.length = 0;
    fleet.leases.length = 0;
  });

  it('forwards the MCP headers and drops hop-by-hop ones, both ways', async function () {
    const res = await request(`${gateway.mcpUrl('local')}?x=1`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 'sess-1',
        'mcp-protocol-version': '2025-06-18',
        'last-event-id': 'ev-41',
        authorization: 'Bearer client-token',
        te: 'trailers',
        'accept-encoding': 'gzip',
        'x-request-id': 'trace-123',
        origin: 'http://localhost:6274',
      },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), '{"jsonrpc":"2.0","id":1,"result":{}}');
    const [seen] = upstream.requests;
    assert.ok(seen);
    assert.equal(seen.url, '/mcp?x=1', 'query string passes');
    assert.equal(seen.headers['mcp-session-id'], 'sess-1');
    assert.equal(seen.headers['mcp-protocol-version'], '2025-06-18');
    assert.equal(seen.headers['last-event-id'], 'ev-41');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers.accept, 'application/json, text/event-stream');
    assert.equal(
      seen.headers.authorization,
      undefined,
      "the client's token is never passed through",
    );
    assert.equal(seen.headers['x-request-id'], 'trace-123');
    assert.equal(seen.headers.te, undefined);
    assert.equal(seen.headers['accept-encoding'], undefined, 'identity keeps SSE unbuffered');
    assert.equal(seen.headers.origin, undefined, 'origin is checked here, not upstream');
    assert.equal(seen.body, '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', 'body verbatim');

    // The client only ever sees its own session id, whatever the backend calls the session.
    assert.equal(res.headers['mcp-session-id'], 'sess-1');
    assert.equal(res.headers['mcp-protocol-version'], '2025-11-25');
    assert.equal(res.headers['x-upstream'], 'yes');
    assert.equal(res.headers['x-request-id'], 'trace-123', 'request id echoed');
    assert.notEqual(
      res.headers['keep-alive'],
      'timeout=5',
      "the upstream's hop-by-hop header stays there",
    );
  });

  it('drops headers the client names in Connection', async function () {
    // undici rewrites Connection itself, so speak HTTP/1.1 on a raw socket.
    const body = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    const reply = await rawHttp(
      gateway.port,
      `POST /servers/local/mcp HTTP/1.1\r\nHost: 127.0.0.1:${gateway.port}\r\n` +
        `Content-Type: application/json\r\nConnection: close, X-Hop\r\nX-Hop: secret\r\n` +
        `X-Kept: kept\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    assert.match(reply, /^HTTP\/1.1 200/);
    assert.equal(upstream.requests[0]?.headers['x-hop'], undefined);
    assert.equal(upstream.requests[0]?.headers['x-kept'], 'kept');
  });

  it("adds the fleet's upstream headers (remote auth), overriding the client's", async function () {
    const res = await request(gateway.mcpUrl('remote'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer client-token' },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    await res.body.text();
    assert.equal(upstream.requests[0]?.headers.authorization, 'Bearer from-secret');
  });

  it('learns the session minted by an initialize response, with the replica that owns it', async function () {
    const res = await request(gateway.mcpUrl('remote'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}',
    });
    await res.body.text();
    assert.deepEqual(fleet.opened, [
      { slug: 'remote', sessionId: 'sess-from-upstream', replicaId: 'remote-a' },
    ]);
  });

  it('passes a 2026-07-28 sessionless POST with its Mcp-Method header, minting no session', async function () {
    const res = await request(gateway.mcpUrl('local'), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'echo',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: {
          name: 'echo',
          arguments: {},
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    });
    assert.equal(res.statusCode, 200);
    await res.body.text();
    const [probe, seen] = upstream.requests;
    assert.match(probe!.body, /server\/discover/, 'the era probe, once per backend');
    assert.equal(seen?.headers['mcp-name'], 'echo');
    assert.equal(seen?.headers['mcp-method'], 'tools/call');
    assert.equal(seen?.headers['mcp-protocol-version'], '2026-07-28');
    assert.equal(seen?.headers['mcp-session-id'], undefined);
    assert.deepEqual(fleet.opened, [], 'not an initialize: no session learned');
    assert.equal(fleet.leases[0]?.options.sessionId, undefined);
    assert.equal(fleet.leases[0]?.options.kind, 'request');
    assert.equal(fleet.leases[0]?.releases, 1);
  });
});

/** Sends raw bytes, returns everything the server wrote until it closed the connection. */
function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString()));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}
