// Everything the gateway refuses, and how: DNS-rebinding Host/Origin (403), oversized
// bodies (413), malformed JSON (-32700), invalid JSON-RPC (-32600), unknown servers (404),
// fleet refusals (503 + Retry-After, 504), unreachable or silent upstreams (502, 504).
// Always a JSON-RPC error body, never a stack trace, never a hang.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { FleetError } from '../../../controller/fleet/fleet.ts';
import { freePort } from '../support/free-port.ts';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.ts';
import { StaticFleet } from './static-fleet.ts';
import { startGateway, waitFor, type RunningGateway } from './start-gateway.ts';

interface ErrorBody {
  jsonrpc: string;
  id: string | number | null;
  error: { code: number; message: string; data?: { reason?: string } };
}

describe('gateway bad input', function () {
  let upstream: RecordingUpstream;
  let fleet: StaticFleet;
  let gateway: RunningGateway;

  before(async function () {
    upstream = await startRecordingUpstream((req, res) => {
      if (req.headers['x-test'] === 'silent') return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
  });
  after(async function () {
    await upstream.close();
  });
  beforeEach(async function () {
    upstream.requests.length = 0;
    fleet = new StaticFleet({ up: upstream.url, down: `http://127.0.0.1:${await freePort()}/mcp` });
    gateway = await startGateway(fleet, {
      maxBodyBytes: 64 * 1024,
      allowedOrigins: ['https://app.example.com'],
      upstreamHeadersTimeoutMs: 300,
    });
  });
  afterEach(async function () {
    await gateway.close();
  });

  async function post(
    body: string | Buffer | Readable,
    headers: Record<string, string> = {},
    slug = 'up',
  ): Promise<{ status: number; headers: Record<string, unknown>; json: ErrorBody }> {
    const res = await request(gateway.mcpUrl(slug), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as ErrorBody };
  }
  const PING = '{"jsonrpc":"2.0","id":1,"method":"ping"}';

  describe('DNS rebinding protection', function () {
    it('rejects a foreign Origin with 403 and a JSON-RPC error, before any lease', async function () {
      const r = await post(PING, { origin: 'http://evil.example.com' });
      assert.equal(r.status, 403);
      assert.equal(r.json.jsonrpc, '2.0');
      assert.equal(r.json.id, null);
      assert.match(
        r.json.error.message,
        /Origin "http:\/\/evil.example.com" is not allowed \(add it with --allowed-origins/,
      );
      assert.equal(fleet.leases.length, 0);
      assert.equal(upstream.requests.length, 0);
    });

    it('rejects a foreign Host with 403 (rebinding without Origin)', async function () {
      const r = await post(PING, { host: 'evil.example.com' });
      assert.equal(r.status, 403);
      assert.match(r.json.error.message, /Host "evil.example.com" is not allowed/);
    });

    it('rejects the "null" origin of sandboxed pages', async function () {
      assert.equal((await post(PING, { origin: 'null' })).status, 403);
    });

    it('accepts loopback Hosts and Origins, and the origins it was told to trust', async function () {
      const accepted: Array<Record<string, string>> = [
        { host: `localhost:${gateway.port}` },
        { host: `[::1]:${gateway.port}`, origin: `http://[::1]:${gateway.port}` },
        { origin: 'http://localhost:6274' },
        { origin: 'https://app.example.com' },
      ];
      for (const headers of accepted) {
        const r = await post(PING, headers);
        assert.equal(r.status, 200, JSON.stringify(headers));
      }
    });

    it('applies to the management API too, with the API error shape', async function () {
      const res = await request(`${gateway.base}/api/v1/servers`, {
        headers: { origin: 'http://evil.example.com' },
      });
      assert.equal(res.statusCode, 403);
      assert.deepEqual(await res.body.json(), {
        error: {
          code: 'forbidden',
          message:
            'Origin "http://evil.example.com" is not allowed (add it with --allowed-origins or MCPFLEET_ALLOWED_ORIGINS)',
        },
      });
    });
  });

  describe('body limit', function () {
    it('answers 413 to a declared Content-Length above the limit', async function () {
      const r = await post(Buffer.alloc(64 * 1024 + 1, 0x20));
      assert.equal(r.status, 413);
      assert.match(r.json.error.message, /exceeds the limit of 65536 bytes/);
      assert.equal(fleet.leases.length, 0);
    });

    it('answers 413 to a chunked body once it crosses the limit while streaming', async function () {
      // 1 MiB in 16 KiB chunks, no Content-Length: the gateway must stop at 64 KiB.
      const chunks = Array.from({ length: 64 }, () => Buffer.alloc(16 * 1024, 0x20));
      const r = await post(Readable.from(chunks));
      assert.equal(r.status, 413);
      assert.equal(upstream.requests.length, 0);
    });

    it('accepts a body right at the limit', async function () {
      const padded = PING.padEnd(64 * 1024, ' ');
      assert.equal((await post(padded)).status, 200);
    });

    it('defaults to 4 MiB', async function () {
      const defaults = await startGateway(fleet);
      try {
        const big = async (size: number): Promise<number> => {
          const res = await request(defaults.mcpUrl('up'), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: PING.padEnd(size, ' '),
          });
          await res.body.text();
          return res.statusCode;
        };
        assert.equal(await big(4 * 1024 * 1024), 200);
        assert.equal(await big(4 * 1024 * 1024 + 1), 413);
      } finally {
        await defaults.close();
      }
    });
  });

  describe('JSON-RPC shape', function () {
    it('answers malformed JSON with 400 and -32700', async function () {
      const r = await post('{"jsonrpc":"2.0",');
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'Parse error: body is not valid JSON' },
      });
    });

    it('answers an empty body with -32700', async function () {
      assert.equal((await post('')).json.error.code, -32700);
    });

    for (const [name, body, id] of [
      ['a wrong jsonrpc version', '{"jsonrpc":"1.0","id":7,"method":"ping"}', 7],
      ['a non-object message', '"ping"', null],
      ['an empty batch', '[]', null],
      ['a message with neither method nor result', '{"jsonrpc":"2.0","id":"a"}', 'a'],
      ['a non-string method', '{"jsonrpc":"2.0","id":2,"method":42}', 2],
      ['an object id', '{"jsonrpc":"2.0","id":{},"method":"ping"}', null],
      ['a bad message inside a batch', `[${PING},{"id":3}]`, null],
    ] as const) {
      it(`answers ${name} with 400 and -32600`, async function () {
        const r = await post(body);
        assert.equal(r.status, 400);
        assert.equal(r.json.error.code, -32600);
        assert.equal(r.json.id, id);
        assert.equal(upstream.requests.length, 0);
      });
    }

    it('passes responses to server requests and batches through', async function () {
      assert.equal((await post('{"jsonrpc":"2.0","id":"s1","result":{}}')).status, 200);
      assert.equal(
        (await post(`[${PING},{"jsonrpc":"2.0","method":"notifications/x"}]`)).status,
        200,
      );
    });
  });

  describe('routing and fleet refusals', function () {
    it('answers 404 for an unknown server', async function () {
      const r = await post(PING, {}, 'nope');
      assert.equal(r.status, 404);
      assert.match(r.json.error.message, /Unknown server "nope"/);
    });

    it('answers 405 for methods other than GET, POST, DELETE', async function () {
      const res = await request(gateway.mcpUrl('up'), { method: 'PUT', body: PING });
      await res.body.text();
      assert.equal(res.statusCode, 405);
      assert.equal(res.headers.allow, 'GET, POST, DELETE');
    });

    it('maps an overloaded fleet to 503 with Retry-After', async function () {
      fleet.failWith = new FleetError(503, 'overloaded', 'Too many requests held for "up"', 2);
      const r = await post(PING);
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '2');
      assert.deepEqual(r.json, {
        jsonrpc: '2.0',
        id: 1,
        error: {
          code: -32000,
          message: 'Too many requests held for "up"',
          data: { reason: 'overloaded' },
        },
      });
    });

    it('carries the failure reason of a failed server to the client', async function () {
      fleet.failWith = new FleetError(503, 'failed', 'Server "up" failed: crash loop (exit 1)');
      const r = await post(PING);
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], undefined);
      assert.equal(r.json.error.message, 'Server "up" failed: crash loop (exit 1)');
    });

    it('maps a missed wake deadline to 504', async function () {
      fleet.failWith = new FleetError(504, 'wake-timeout', 'Server "up" did not wake within 30s');
      assert.equal((await post(PING)).status, 504);
    });

    it('answers 502 when the upstream is unreachable, and releases the lease', async function () {
      const r = await post(PING, {}, 'down');
      assert.equal(r.status, 502);
      assert.match(r.json.error.message, /Upstream server unreachable \(ECONNREFUSED\)/);
      assert.equal(fleet.leases[0]?.releases, 1);
    });

    it('answers 504 when the upstream sends no headers in time, and releases the lease', async function () {
      const r = await post(PING, { 'x-test': 'silent' });
      assert.equal(r.status, 504);
      assert.equal(r.json.error.message, 'Upstream server did not answer in time');
      assert.equal(fleet.leases[0]?.releases, 1);
    });
  });

  describe('the fleet takes the server away', function () {
    it('answers 503 with Retry-After when the lease aborts before the upstream answers', async function () {
      const pending = post(PING, { 'x-test': 'silent' });
      await waitFor(() => upstream.requests.length === 1, 'the request reached the upstream');
      fleet.leases[0]!.abort();
      const r = await pending;
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '1');
      assert.match(r.json.error.message, /went away/);
      await waitFor(() => upstream.abortedResponses === 1, 'the upstream request aborted');
      assert.equal(fleet.leases[0]!.releases, 1);
    });
  });

  describe('request ids and metrics', function () {
    it('echoes X-Request-Id, or makes one up', async function () {
      assert.equal(
        (await post(PING, { 'x-request-id': 'abc-123' })).headers['x-request-id'],
        'abc-123',
      );
      const generated = (await post(PING, { 'x-request-id': 'bad id with spaces' })).headers[
        'x-request-id'
      ];
      assert.match(String(generated), /^[0-9a-f-]{36}$/);
    });

    it('counts requests by server, method and status', async function () {
      await post(PING);
      await post('{', {});
      const text = (await gateway.metrics.render()).body;
      assert.match(text, /mcpfleet_requests_total\{server="up",method="POST",status="200"\} 1/);
      assert.match(text, /mcpfleet_requests_total\{server="up",method="POST",status="400"\} 1/);
      assert.match(text, /mcpfleet_in_flight_requests\{server="up"\} 0/);
      assert.match(text, /mcpfleet_request_duration_seconds_count\{server="up"\} 1/);
    });
  });
});
