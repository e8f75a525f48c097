// PostgreSQL going away under a running controller, through a proxy that refuses or freezes
// on demand (freezable-proxy.ts) in front of the real server: MCP keeps working, /readyz stays
// 200 and says `degraded` (the store is off the request path; taking every gateway pod out of
// its Service would stop MCP for nothing), mcpfleet_dependency_up{dependency="store"} is 0,
// and the events API answers 503 with a JSON error — at once when the port is closed, within
// the store timeout when the server hangs — never a 500, never a hang.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { silentLogger } from '../../../controller/observability/log.ts';
import type { RunningController } from '../../../controller/start.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { openSession, postMcp, toolCall, answerTo } from '../fleet/serve-process.ts';
import {
  startControllerBehindProxy,
  type ControllerBehindProxy,
} from './controller-behind-proxy.ts';
import type { FreezableProxy } from './freezable-proxy.ts';
const STORE_TIMEOUT_MS = 1_000;

async function json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = await request(url);
  return { status: reply.statusCode, body: (await reply.body.json()) as Record<string, unknown> };
}

describe('PostgreSQL unreachable while the controller runs', function () {
  this.timeout(60_000);
  const schema = `mcpfleet_outage_${process.pid}`;
  let proxy: FreezableProxy;
  let controller: RunningController | undefined;
  let running: ControllerBehindProxy | undefined;

  beforeEach(async function () {
    running = await startControllerBehindProxy(schema, {
      specs: [stdioFixture('outage-echo', 'normal')],
      port: 0,
      storeTimeoutMs: STORE_TIMEOUT_MS,
      logger: silentLogger(),
    });
    ({ controller, proxy } = running);
    const ready = await json(`${controller.url}/readyz`);
    assert.equal(ready.body.status, 'ready', 'the store answers before the outage');
  });
  afterEach(async function () {
    await running?.close();
    running = controller = undefined;
  });

  for (const outage of ['refused', 'hung'] as const) {
    it(`keeps serving MCP and stays ready (degraded) with the store ${outage}; events answer 503`, async function () {
      if (outage === 'refused') await proxy.refuse();
      else proxy.freeze();
      const base = controller!.url;

      const ready = await json(`${base}/readyz`);
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.equal(ready.body.status, 'degraded');
      const checks = ready.body.checks as Record<string, { ok: boolean; degradable?: boolean }>;
      assert.equal(checks.store?.ok, false);
      assert.equal(checks.store?.degradable, true);
      const metrics = await (await request(`${base}/metrics`)).body.text();
      assert.match(metrics, /mcpfleet_dependency_up\{dependency="store"\} 0/);

      // MCP works: the server wakes (its events cannot be written) and answers.
      const url = `${base}/servers/outage-echo/mcp`;
      const session = await openSession(url);
      const reply = await postMcp(url, toolCall(3, 'echo', { said: 'still here' }), session);
      assert.equal(reply.status, 200);
      assert.match(JSON.stringify(answerTo(reply, 3)?.result), /still here/);

      const startedAt = Date.now();
      const events = await json(`${base}/api/v1/events`);
      assert.equal(events.status, 503, JSON.stringify(events.body));
      assert.equal((events.body.error as { code: string }).code, 'store-unavailable');
      assert.ok(
        Date.now() - startedAt < STORE_TIMEOUT_MS * 10,
        'answered within the store timeout',
      );
    });
  }
});
