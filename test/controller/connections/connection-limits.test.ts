// Issue 12, descriptors: a greedy client (test/fixtures/greedy-client.ts) on raw sockets
// against the controller's real HTTP server. Idle sockets are closed by the server (not left
// for the client to close), the cap holds with /healthz still answering, the probe reserve
// serves probes and the API only, oversized headers get 431, slow headers and bodies 408,
// with JSON(-RPC) bodies; all of it counted in metrics and logged once per interval. Limits
// are small and configured, so nothing here waits on a default.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import type { ConnectionLimits } from '../../../controller/connections/connection-limits.ts';
import { createLogger } from '../../../controller/observability/log.ts';
import { GreedyClient } from '../../fixtures/greedy-client.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../gateway/recording-upstream.ts';
import { StaticFleet } from '../gateway/static-fleet.ts';
import { startGateway, type RunningGateway } from '../gateway/start-gateway.ts';

const MCP = '/servers/up/mcp';
const LONG = 60_000; // a timeout the test must never reach

describe('connection limits (issue 12: descriptors)', function () {
  let upstream: RecordingUpstream;
  let gateway: RunningGateway;
  let greedy: GreedyClient;
  let logLines: string[];
  /** A fresh connection per request: the pool must not hide what the cap does. */
  let agent: Agent;

  before(async function () {
    upstream = await startRecordingUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
  });
  after(async function () {
    await upstream.close();
  });
  afterEach(async function () {
    greedy?.close();
    await agent?.close();
    await gateway?.close();
  });

  async function start(connections: Partial<ConnectionLimits>): Promise<void> {
    upstream.requests.length = 0;
    logLines = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    gateway = await startGateway(new StaticFleet({ up: upstream.url }), {
      logger: createLogger({ level: 'warn', destination }),
      connections: { headersTimeoutMs: LONG, bodyTimeoutMs: LONG, ...connections },
    });
    greedy = new GreedyClient({ port: gateway.port });
    agent = new Agent({ pipelining: 0 });
  }

  /** What node:http itself counts, not the guard's own figure. */
  function serverConnections(): Promise<number> {
    return new Promise((resolve, reject) =>
      gateway.controller.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );
  }
  async function eventCounts(): Promise<Record<string, number>> {
    const { values } = await gateway.metrics.connectionLimitEvents.get();
    return Object.fromEntries(values.map((v) => [String(v.labels.event), v.value]));
  }
  function get(
    path: string,
  ): Promise<{ status: number; headers: Record<string, unknown>; json: unknown }> {
    return request(`${gateway.base}${path}`, { dispatcher: agent }).then(async (res) => ({
      status: res.statusCode,
      headers: res.headers,
      json: await res.body.json(),
    }));
  }

  it('closes sockets that never send a byte, with 408, without waiting for the client', async function () {
    await start({ headersTimeoutMs: 300 });
    const idle = await greedy.idle(5);
    await Promise.all(idle.map((s) => s.closedByServer));
    // The clients never close their side: only the server can have let go of the descriptors.
    await pollUntil(async () => (await serverConnections()) === 0, 'the server to drop them');
    assert.deepEqual(
      idle.map((s) => s.status()),
      [408, 408, 408, 408, 408],
    );
    assert.equal((await eventCounts())['headers-timeout'], 5);
  });

  it('answers headers that never end with 408 and closes the socket', async function () {
    await start({ headersTimeoutMs: 400 });
    const slow = await greedy.endlessHeaders(MCP, { everyMs: 50 });
    await slow.closedByServer;
    assert.equal(slow.status(), 408);
    assert.deepEqual(JSON.parse(slow.body()!), {
      error: { code: 'request-timeout', message: 'The request headers did not arrive in time' },
    });
    await pollUntil(async () => (await serverConnections()) === 0, 'the server to drop it');
    assert.equal(upstream.requests.length, 0);
  });

  it('answers a byte every so often, never a request line, with 408', async function () {
    await start({ headersTimeoutMs: 400 });
    const drip = await greedy.drip({ everyMs: 50 });
    await drip.closedByServer;
    assert.equal(drip.status(), 408);
    await pollUntil(async () => (await serverConnections()) === 0, 'the server to drop it');
    assert.equal((await eventCounts())['headers-timeout'], 1);
  });

  it('answers what is not HTTP with 400 and a JSON body, and lets go of the socket', async function () {
    await start({});
    const junk = await greedy.connect('HELLO\r\n\r\n');
    await junk.closedByServer;
    assert.equal(junk.status(), 400);
    assert.deepEqual(JSON.parse(junk.body()!), {
      error: { code: 'bad-request', message: 'Malformed HTTP request' },
    });
    await pollUntil(async () => (await serverConnections()) === 0, 'the server to drop it');
  });

  it('answers oversized headers with 431: a JSON-RPC error on an MCP endpoint', async function () {
    await start({});
    const mcp = await greedy.oversizedHeaders(MCP, 20_000);
    await mcp.closedByServer;
    assert.equal(mcp.status(), 431);
    const body = JSON.parse(mcp.body()!) as { jsonrpc: string; id: null; error: { code: number } };
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.id, null);
    assert.equal(body.error.code, -32000);

    const api = await greedy.oversizedHeaders('/api/v1/servers', 20_000);
    await api.closedByServer;
    assert.equal(api.status(), 431);
    assert.equal(
      (JSON.parse(api.body()!) as { error: { code: string } }).error.code,
      'headers-too-large',
    );
    assert.equal((await eventCounts())['headers-too-large'], 2);
  });

  it('answers a body trickled too slowly with 408 and a JSON-RPC error, and closes', async function () {
    await start({ bodyTimeoutMs: 400 });
    const slow = await greedy.trickleBody(MCP, 1_000, { everyMs: 50 });
    await slow.closedByServer;
    assert.equal(slow.status(), 408);
    const body = JSON.parse(slow.body()!) as {
      jsonrpc: string;
      error: { code: number; message: string };
    };
    assert.equal(body.jsonrpc, '2.0');
    assert.match(body.error.message, /body did not arrive within 400 ms/);
    await pollUntil(async () => (await serverConnections()) === 0, 'the server to drop it');
    assert.equal(upstream.requests.length, 0, 'nothing reached the server');
    assert.equal((await eventCounts())['body-timeout'], 1);
  });

  it('holds the cap against idle sockets, and /healthz still answers', async function () {
    await start({ maxConnections: 20, probeReserve: 4 });
    const idle = await greedy.idle(40);
    await pollUntil(
      async () => gateway.controller.connections.open === 20 && (await serverConnections()) <= 20,
      'the cap to hold',
    );
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 200);
    assert.ok((await serverConnections()) <= 20);
    // Idle sockets made room: 20 for the flood, one for /healthz (and one for /readyz, unless
    // the /healthz connection, closed after answering, was gone by then).
    await pollUntil(async () => idle.filter((s) => s.closed()).length >= 21, 'evictions seen');
    assert.ok((await eventCounts()).evicted! >= 21);
  });

  it('keeps the reserve for probes and the API while ordinary requests fill the rest', async function () {
    await start({ maxConnections: 10, probeReserve: 3 });
    // Seven requests in progress (bodies still arriving): busy, so nothing to evict.
    const busy = await Promise.all(
      Array.from({ length: 7 }, () => greedy.trickleBody(MCP, 100_000, { everyMs: 1_000 })),
    );
    await pollUntil(async () => gateway.controller.connections.open === 7, 'seven connections');

    const mcp = await request(`${gateway.base}${MCP}`, {
      dispatcher: agent,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: initializeBody(),
    });
    assert.equal(mcp.statusCode, 503);
    assert.equal(mcp.headers['retry-after'], '1');
    const refusal = (await mcp.body.json()) as {
      jsonrpc: string;
      error: { data: { reason: string } };
    };
    assert.equal(refusal.error.data.reason, 'over-capacity');

    const health = await get('/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.headers.connection, 'close');
    assert.equal((await get('/api/v1/servers')).status, 200);
    assert.ok(
      busy.every((s) => !s.closed()),
      'the requests in progress were left alone',
    );
    assert.equal(upstream.requests.length, 0);
    assert.equal((await eventCounts())['reserve-refused'], 1);
  });

  it('closes a new connection at once only when every connection is busy', async function () {
    await start({ maxConnections: 4, probeReserve: 1 });
    const busy = await Promise.all(
      Array.from({ length: 3 }, () => greedy.trickleBody(MCP, 100_000, { everyMs: 1_000 })),
    );
    await pollUntil(async () => gateway.controller.connections.open === 3, 'three busy');
    // The reserve's slot, busy too: a management API stream.
    const follow = await greedy.connect(
      'GET /api/v1/events?follow=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    );
    await pollUntil(async () => follow.status() === 200, 'the follow stream');
    const refused = await greedy.connect();
    await refused.closedByServer;
    assert.equal(refused.status(), undefined, 'closed, not answered');
    assert.ok(
      [...busy, follow].every((s) => !s.closed()),
      'the busy ones were left alone',
    );
    assert.equal((await eventCounts()).refused, 1);
  });

  it('leaves ordinary MCP traffic alone under small limits', async function () {
    await start({
      maxConnections: 4,
      probeReserve: 1,
      headersTimeoutMs: 2_000,
      bodyTimeoutMs: 2_000,
    });
    const pooled = new Agent({ connections: 1 });
    try {
      for (let i = 0; i < 30; i++) {
        const res = await request(`${gateway.base}${MCP}`, {
          dispatcher: pooled,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: initializeBody(i + 1),
        });
        assert.equal(res.statusCode, 200);
        await res.body.text();
      }
    } finally {
      await pooled.close();
    }
    assert.equal(upstream.requests.length, 30);
    assert.deepEqual(await eventCounts(), {});
  });

  it('logs a flood as one line per interval with the counts, not a line per socket', async function () {
    await start({ headersTimeoutMs: 200, logIntervalMs: 1_000 });
    const idle = await greedy.idle(40);
    await Promise.all(idle.map((s) => s.closedByServer));
    const lines = (): Array<{ msg: string; 'headers-timeout'?: number }> =>
      logLines
        .map((l) => JSON.parse(l) as { msg: string })
        .filter((l) => l.msg === 'connection limits enforced');
    const logged = (): number => lines().reduce((n, l) => n + (l['headers-timeout'] ?? 0), 0);
    await pollUntil(async () => logged() === 40, 'the counts to be logged');
    assert.ok(lines().length <= 3, `${lines().length} lines for 40 sockets`);
  });
});

async function pollUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
