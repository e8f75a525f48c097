// A PostgreSQL that hangs (it accepts, and never answers again: freezable-proxy.ts in front of
// the real server) must not hold a controller past SIGTERM: every store call has a deadline
// (--store-timeout) and so has closing the store, so `mcpfleet serve` exits within a bound
// even with writes stuck on the dead connections. (Before: pg's pool waited for them forever.)
import assert from 'node:assert/strict';
import { request } from 'undici';
import { stdioFixture } from '../fleet/specs.ts';
import { startServe, type ServeProcess } from '../fleet/serve-process.ts';
import { startFreezableProxy, type FreezableProxy } from './freezable-proxy.ts';
import { DATABASE_URL, dropSchema, isolatedUrl } from './postgres-schema.ts';

describe('SIGTERM with PostgreSQL hung (mcpfleet serve)', function () {
  this.timeout(90_000);
  const schema = `mcpfleet_hung_${process.pid}`;
  let proxy: FreezableProxy;
  let serve: ServeProcess | undefined;
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(serve?.output());
    await serve?.cleanup();
    await proxy?.close();
    await dropSchema(schema);
  });

  it('exits within a bound, though writes are stuck on the hung connections', async function () {
    proxy = await startFreezableProxy({
      host: '127.0.0.1',
      port: Number(new URL(DATABASE_URL).port || 5432),
    });
    serve = await startServe(
      [stdioFixture('hung-db-echo', 'normal')],
      [
        '--database-url',
        await isolatedUrl(proxy, schema),
        '--store-timeout',
        '2s',
        '--shutdown-grace',
        '1s',
      ],
    );
    const wake = await request(`${serve.base}/api/v1/servers/hung-db-echo/wake`, {
      method: 'POST',
    });
    assert.equal(wake.statusCode, 200);
    await wake.body.dump();

    proxy.freeze();
    // Writes now go to a server that never answers: a sleep records status and events.
    const slept = await request(`${serve.base}/api/v1/servers/hung-db-echo/sleep`, {
      method: 'POST',
    });
    assert.equal(slept.statusCode, 200);
    await slept.body.dump();

    const signalledAt = Date.now();
    serve.child.kill('SIGTERM');
    const bound = 45_000; // grace 1 s + child stop + store writes (2 s each) + close (2 s)
    const code = await Promise.race([
      serve.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), bound)),
    ]);
    const tookMs = Date.now() - signalledAt;
    assert.equal(code, 0, `after ${tookMs} ms: ${code}`);
    console.log(`      exited ${tookMs} ms after SIGTERM`);
  });
});
