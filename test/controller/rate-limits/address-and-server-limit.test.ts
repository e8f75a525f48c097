// The rate limits of an open controller (no identity configured: every caller is anonymous, so
// its budget is its address) and the per-server limit, on a real controller with real stdio
// servers, the MCP SDK client and undici requests from two loopback addresses (127.0.0.1 and
// 127.0.0.2): one address's burst does not touch the other's budget; health probes and
// /metrics are never limited; a server's budget is spent by every caller together and another
// server keeps its own.
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { allAnswered, connectedClient, metricValue, rawPost } from './rate-limit-clients.ts';

const LIMIT = 10;
const WINDOW = { windowSeconds: 60, burst: 0 };

describe('rate limits of an open controller', function () {
  this.timeout(60_000);
  let controller: RunningController | undefined;
  /** Requests from 127.0.0.2, another loopback address of this machine. */
  const secondAddress = new Agent({ localAddress: '127.0.0.2' });

  afterEach(async function () {
    await controller?.close();
    controller = undefined;
  });
  after(async function () {
    await secondAddress.close();
  });

  it('an anonymous caller is its address: a burst from one leaves the other alone; probes are never limited', async function () {
    controller = await startController({
      specs: [stdioFixture('fix', 'normal')],
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
      rateLimits: { perPrincipal: { points: LIMIT, ...WINDOW }, perServer: null },
    });
    const endpoint = `${controller.url}/servers/fix/mcp`;
    const first = await connectedClient(endpoint);
    try {
      const burst = await allAnswered(
        Array.from({ length: 50 }, () => first.listTools()),
        20_000,
      );
      const codes = burst.map((r) =>
        r.status === 'fulfilled' ? 200 : (r.reason as { code?: number }).code,
      );
      assert.ok(
        codes.every((c) => c === 200 || c === 429),
        codes.join(),
      );
      assert.ok(codes.filter((c) => c === 429).length >= 40, codes.join());
    } finally {
      await first.close();
    }
    const refused = await rawPost(endpoint, undefined, initializeBody());
    assert.equal(refused.status, 429);
    assert.equal((refused.body.error as { data: { scope: string } }).data.scope, 'principal');

    const other = await rawPost(endpoint, undefined, initializeBody(), secondAddress);
    assert.equal(other.status, 200, JSON.stringify(other.body));

    // From the address whose budget is gone: liveness, readiness and metrics still answer.
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const replies = await Promise.all(
        Array.from({ length: 2 * LIMIT }, () => fetch(`${controller!.url}${path}`)),
      );
      for (const reply of replies) {
        await reply.arrayBuffer();
        assert.equal(reply.status, 200, path);
      }
    }
  });

  it('a server budget is spent by every caller together; another server keeps its own', async function () {
    controller = await startController({
      specs: [stdioFixture('fix', 'normal'), stdioFixture('other', 'normal')],
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
      rateLimits: { perPrincipal: null, perServer: { points: LIMIT, ...WINDOW } },
    });
    const fix = `${controller.url}/servers/fix/mcp`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await rawPost(fix, undefined, initializeBody())).status);
    for (let i = 0; i < 4; i++)
      statuses.push((await rawPost(fix, undefined, initializeBody(), secondAddress)).status);
    assert.deepEqual(statuses, Array(10).fill(200));

    for (const dispatcher of [undefined, secondAddress]) {
      const refused = await rawPost(fix, undefined, initializeBody(), dispatcher);
      assert.equal(refused.status, 429);
      const error = refused.body.error as { message: string; data: { scope: string } };
      assert.equal(error.data.scope, 'server');
      assert.match(error.message, /server "fix" \(every caller together\) is over 10\/60s/);
    }
    // The SDK client sees the 429 as an error with its status, at once.
    await assert.rejects(connectedClient(fix), (err: { code?: number }) => err.code === 429);

    const other = await connectedClient(`${controller.url}/servers/other/mcp`);
    try {
      assert.ok((await other.listTools()).tools.length > 0);
    } finally {
      await other.close();
    }
    assert.equal(
      await metricValue(controller, 'mcpfleet_rate_limited_total', {
        scope: 'server',
        server: 'fix',
      }),
      3,
    );
  });

  it("a caller's refused requests do not spend its server's budget", async function () {
    controller = await startController({
      specs: [stdioFixture('fix', 'normal')],
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
      rateLimits: {
        perPrincipal: { points: 5, ...WINDOW },
        perServer: { points: 20, ...WINDOW },
      },
    });
    const fix = `${controller.url}/servers/fix/mcp`;
    const ping = (id: number, dispatcher?: Agent) =>
      rawPost(fix, undefined, JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }), dispatcher);
    const flood = await allAnswered(
      Array.from({ length: 50 }, (_, i) => ping(i)),
      20_000,
    );
    const statuses = flood.map((r) => (r.status === 'fulfilled' ? r.value.status : 0));
    assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join());
    assert.equal(statuses.filter((s) => s === 429).length, 45, statuses.join());
    // 45 refusals later, the server still has 15 of its 20 for everyone else (the 5 admitted
    // spent theirs; a refused request's server request was given back, or never taken): three
    // more callers at 5 each, then a fourth is refused for the server's budget.
    const callers = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map(
      (localAddress) => new Agent({ localAddress }),
    );
    try {
      const others: number[] = [];
      for (const caller of callers.slice(0, 3))
        for (let i = 0; i < 5; i++) others.push((await ping(i, caller)).status);
      assert.deepEqual(others, Array(15).fill(200));
      const last = await ping(0, callers[3]);
      assert.equal(last.status, 429);
      assert.equal((last.body.error as { data: { scope: string } }).data.scope, 'server');
    } finally {
      await Promise.all(callers.map((c) => c.close()));
    }
  });
});
