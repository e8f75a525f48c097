// Remotes show their real state: `ready` only once the remote answered an MCP round trip,
// health-checked while ready like any server, and `unhealthy` (never given up on) with the
// remote's own answer as the reason when it does not.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FleetError } from '../../../controller/fleet/fleet.ts';
import { freePort } from '../support/free-port.ts';
import { EVERYTHING_BIN, waitFor } from '../support/processes.ts';
import { startTestFleet, type TestFleet } from './harness.ts';
import { remoteAt } from './specs.ts';

describe('remote servers: health like any server', function () {
  this.timeout(30_000);
  let t: TestFleet | undefined;
  let everything: ChildProcess | undefined;
  let everythingUrl: string;
  let broken: http.Server;
  let brokenUrl: string;

  before(async () => {
    // A real remote: server-everything over Streamable HTTP on a port of its own.
    const port = await freePort();
    everything = spawn(process.execPath, [EVERYTHING_BIN, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: 'ignore',
    });
    everythingUrl = `http://127.0.0.1:${port}/mcp`;
    // A remote that answers everything with 502, as a failing upstream behind a proxy does.
    broken = http.createServer((_req, res) => res.writeHead(502).end('Bad Gateway'));
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/mcp`;
  });
  afterEach(async () => {
    await t?.fleet.stop();
    t = undefined;
  });
  after(() => {
    everything?.kill('SIGKILL');
    broken.close();
  });

  it('is ready once the remote answered initialize + ping, and a wake says so for real', async () => {
    t = await startTestFleet([remoteAt('up', everythingUrl)]);
    await t.waitForState('up', 'ready', 15_000);
    const [wake] = await t.events('up', 'wake');
    assert.ok(wake, 'the readiness round trip is recorded as a wake');
    assert.equal((await t.fleet.wake('up')).state, 'ready');
  });

  it('is unhealthy with the remote’s answer as the reason, and keeps trying', async () => {
    t = await startTestFleet([remoteAt('down', brokenUrl)], {
      crashLoop: { baseBackoffMs: 20, maxBackoffMs: 50, threshold: 2 },
    });
    await t.waitForState('down', 'unhealthy');
    const status = t.fleet.status('down')!;
    assert.match(status.lastError ?? '', /HTTP 502/);
    // More failed tries than the crash-loop threshold: still unhealthy, never `failed`.
    await waitFor(
      async () => (await t!.events('down', 'wake-failed')).length >= 4,
      10_000,
      'repeated tries',
    );
    assert.equal(t.fleet.status('down')?.state, 'unhealthy');
    await assert.rejects(
      t.fleet.acquire('down', { kind: 'request' }),
      (err: unknown) =>
        err instanceof FleetError && err.status === 503 && /HTTP 502/.test(err.message),
    );
  });

  it('turns unhealthy when the remote stops answering while ready', async () => {
    const port = await freePort();
    const flaky = spawn(process.execPath, [EVERYTHING_BIN, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: 'ignore',
    });
    try {
      t = await startTestFleet([
        remoteAt('flaky', `http://127.0.0.1:${port}/mcp`, {
          health: { intervalMs: 200, timeoutMs: 500, failureThreshold: 1 },
        }),
      ]);
      await t.waitForState('flaky', 'ready', 15_000);
      flaky.kill('SIGKILL');
      await t.waitForState('flaky', 'unhealthy', 10_000);
    } finally {
      flaky.kill('SIGKILL');
    }
  });
});
