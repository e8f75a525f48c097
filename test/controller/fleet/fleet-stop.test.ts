// After the fleet stopped (the controller shutting down, its HTTP server still draining), a
// server is no longer `ready` without a replica, and a request that still arrives is refused
// with the shutdown's 503 FleetError — not a TypeError from routing onto a replica that is gone
// (which the gateway turned into a 500).
import assert from 'node:assert/strict';
import { FleetError } from '../../../controller/fleet/fleet.ts';
import { startTestFleet } from './harness.ts';
import { stdioFixture } from './specs.ts';

describe('a fleet that stopped', function () {
  this.timeout(30_000);

  it('says its servers are asleep and refuses requests with 503, during the grace and after', async function () {
    const t = await startTestFleet([stdioFixture('stopped-echo', 'normal')]);
    await t.fleet.wake('stopped-echo');
    const inFlight = await t.fleet.acquire('stopped-echo', { kind: 'request' });

    const drained = t.fleet.drain!(60_000);
    // In the grace: the call in flight goes on, a new one is refused.
    await assert.rejects(
      t.fleet.acquire('stopped-echo', { kind: 'request' }),
      (err: Error) =>
        err instanceof FleetError && err.status === 503 && /shutting down/.test(err.message),
    );
    inFlight.release();
    assert.deepEqual(await drained, { unfinished: 0 }, 'the drain ends with the last call');

    await t.fleet.stop();
    assert.equal(t.fleet.status('stopped-echo')?.state, 'asleep');
    assert.equal(t.fleet.status('stopped-echo')?.replicas, 0);
    await assert.rejects(
      t.fleet.acquire('stopped-echo', { kind: 'request' }),
      (err: Error) => err instanceof FleetError && err.status === 503,
    );
  });
});
