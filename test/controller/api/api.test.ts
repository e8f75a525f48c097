// Management API and probes over real HTTP, with the fleet stood in by a test double.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { FleetError } from '../../../controller/fleet/fleet.ts';
import type { ServerStatus } from '../../../controller/api/types.ts';
import { StaticFleet } from '../gateway/static-fleet.ts';
import { startGateway, type RunningGateway } from '../gateway/start-gateway.ts';

async function call(
  url: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: unknown }> {
  const res = await request(url, { method });
  const text = await res.body.text();
  const type = String(res.headers['content-type'] ?? '');
  return {
    status: res.statusCode,
    headers: res.headers,
    body: type.includes('json') ? JSON.parse(text) : text,
  };
}

describe('management API', function () {
  let fleet: StaticFleet;
  let gateway: RunningGateway;
  let readyChecks: Record<string, { ok: boolean; error?: string; degradable?: boolean }>;

  beforeEach(async function () {
    fleet = new StaticFleet({ alpha: 'http://127.0.0.1:1/mcp', beta: 'http://127.0.0.1:1/mcp' });
    fleet.events_.push(
      {
        id: 2,
        server: 'alpha',
        type: 'sleep',
        at: '2026-01-01T00:01:00.000Z',
        durationMs: null,
        message: null,
        data: null,
      },
      {
        id: 1,
        server: 'alpha',
        type: 'wake',
        at: '2026-01-01T00:00:00.000Z',
        durationMs: 840,
        message: null,
        data: null,
      },
      {
        id: 0,
        server: 'beta',
        type: 'wake',
        at: '2025-12-31T00:00:00.000Z',
        durationMs: 910,
        message: null,
        data: null,
      },
    );
    readyChecks = { store: { ok: true }, coord: { ok: true }, registry: { ok: true } };
    gateway = await startGateway(fleet, { readiness: async () => readyChecks });
  });
  afterEach(async function () {
    await gateway.close();
  });

  it('lists servers', async function () {
    const r = await call(`${gateway.base}/api/v1/servers`);
    assert.equal(r.status, 200);
    const { servers } = r.body as { servers: ServerStatus[] };
    assert.deepEqual(
      servers.map((s) => [s.slug, s.state, s.endpoint]),
      [
        ['alpha', 'ready', '/servers/alpha/mcp'],
        ['beta', 'ready', '/servers/beta/mcp'],
      ],
    );
  });

  it('shows one server, 404 for an unknown one', async function () {
    const r = await call(`${gateway.base}/api/v1/servers/alpha`);
    assert.equal(r.status, 200);
    assert.equal((r.body as ServerStatus).slug, 'alpha');
    const missing = await call(`${gateway.base}/api/v1/servers/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, {
      error: { code: 'unknown-server', message: 'Unknown server "nope"' },
    });
  });

  it('sleeps and wakes a server, answering its new status', async function () {
    const slept = await call(`${gateway.base}/api/v1/servers/alpha/sleep`, 'POST');
    assert.equal(slept.status, 200);
    assert.equal((slept.body as ServerStatus).state, 'asleep');
    const woke = await call(`${gateway.base}/api/v1/servers/alpha/wake`, 'POST');
    assert.equal((woke.body as ServerStatus).state, 'ready');
    assert.equal((await call(`${gateway.base}/api/v1/servers/nope/wake`, 'POST')).status, 404);
  });

  it('maps a failed wake to its FleetError status and code', async function () {
    fleet.failWith = new FleetError(504, 'wake-timeout', 'Server "alpha" did not wake within 5s');
    const r = await call(`${gateway.base}/api/v1/servers/alpha/wake`, 'POST');
    assert.equal(r.status, 504);
    assert.deepEqual(r.body, {
      error: { code: 'wake-timeout', message: 'Server "alpha" did not wake within 5s' },
    });
  });

  it('refuses the wrong method with 405', async function () {
    const r = await call(`${gateway.base}/api/v1/servers/alpha/wake`, 'GET');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'POST');
    assert.equal((await call(`${gateway.base}/api/v1/servers`, 'DELETE')).status, 405);
  });

  it('lists events, filtered by server, type and limit', async function () {
    const all = await call(`${gateway.base}/api/v1/events`);
    assert.equal((all.body as { events: unknown[] }).events.length, 3);
    const wakes = await call(`${gateway.base}/api/v1/events?server=alpha&type=wake`);
    assert.deepEqual(wakes.body, {
      events: [
        {
          id: 1,
          server: 'alpha',
          type: 'wake',
          at: '2026-01-01T00:00:00.000Z',
          durationMs: 840,
          message: null,
          data: null,
        },
      ],
    });
    const one = await call(`${gateway.base}/api/v1/events?limit=1`);
    assert.equal((one.body as { events: unknown[] }).events.length, 1);
  });

  for (const query of [
    'limit=0',
    'limit=abc',
    'limit=1001',
    'server=Not_A_Slug',
    'type=%20',
    'type=bogus',
    'color=red',
  ]) {
    it(`answers 400 to a bad events query (${query})`, async function () {
      const r = await call(`${gateway.base}/api/v1/events?${query}`);
      assert.equal(r.status, 400);
      assert.equal((r.body as { error: { code: string } }).error.code, 'bad-query');
    });
  }

  it('names the event types when asked for one that does not exist', async function () {
    const r = await call(`${gateway.base}/api/v1/events?type=bogus`);
    assert.match(
      (r.body as { error: { message: string } }).error.message,
      /"bogus" is not an event type; one of: wake, wake-failed, .*session-resumed, session-expired, shutdown$/,
    );
  });

  it('answers 404 for events of an unknown server and for unknown API paths', async function () {
    assert.equal((await call(`${gateway.base}/api/v1/events?server=nope`)).status, 404);
    const r = await call(`${gateway.base}/api/v1/nothing`);
    assert.equal(r.status, 404);
    assert.equal((r.body as { error: { code: string } }).error.code, 'not-found');
    assert.equal((await call(`${gateway.base}/elsewhere`)).status, 404);
  });

  it('serves /healthz, and /readyz from its checks', async function () {
    assert.deepEqual((await call(`${gateway.base}/healthz`)).body, { status: 'ok' });
    const ready = await call(`${gateway.base}/readyz`);
    assert.equal(ready.status, 200);
    readyChecks.store = { ok: false, error: 'connection refused' };
    const notReady = await call(`${gateway.base}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual((notReady.body as { checks: unknown }).checks, readyChecks);
  });

  it('stays in its Service when only a degradable dependency fails, and says so', async function () {
    readyChecks.coord = { ok: false, error: 'ECONNREFUSED', degradable: true };
    const degraded = await call(`${gateway.base}/readyz`);
    assert.equal(degraded.status, 200);
    assert.equal((degraded.body as { status: string }).status, 'degraded');
    const metrics = String((await call(`${gateway.base}/metrics`)).body);
    assert.match(metrics, /mcpfleet_dependency_up\{dependency="coord"\} 0/);
  });

  it('serves Prometheus metrics', async function () {
    const r = await call(`${gateway.base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/plain/);
    assert.match(String(r.body), /# TYPE mcpfleet_requests_total counter/);
  });
});
