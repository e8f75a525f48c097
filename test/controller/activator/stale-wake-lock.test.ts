// A wake lock the controller left itself during a Redis outage must not hold up its next wake.
// A SET that timed out on the client is still queued on its connection: a stopped Redis runs
// it when it resumes, a reconnect resends it, and the lock then stands, owned by this
// controller, for its whole TTL. Against a real redis-server of the test's own, stopped
// (SIGSTOP) mid-lock and resumed: the lock is re-entrant for its owner, the timed-out SET is
// released right behind it, and the next wake goes at once.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { acquireWakeLock } from '../../../controller/activator/wake-lock.ts';
import type { Coord } from '../../../controller/coord/coord.ts';
import { MemoryCoord } from '../../../controller/coord/memory.ts';
import { connectRedisCoord, type RedisCoord } from '../../../controller/coord/redis.ts';
import { createLocalFleet } from '../../../controller/fleet/local-fleet.ts';
import type { Fleet } from '../../../controller/fleet/fleet.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { Metrics } from '../../../controller/observability/metrics.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import type { Store } from '../../../controller/store/store.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { waitFor } from '../support/processes.ts';
import { startOwnRedis, type OwnRedis } from './redis-server.ts';

/** Bound on each Redis command: the outage is noticed this fast. */
const COMMAND_TIMEOUT_MS = 300;

describe('a wake lock left behind by an outage', function () {
  this.timeout(60_000);
  let redis: OwnRedis;
  let coord: RedisCoord;
  let inspector: Redis;
  beforeEach(async function () {
    redis = await startOwnRedis();
    coord = await connectRedisCoord({ url: redis.url, timeoutMs: COMMAND_TIMEOUT_MS });
    inspector = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  });
  afterEach(async function () {
    redis.resume();
    inspector.disconnect();
    await coord.close();
    await redis.close();
  });

  /** Every command sent before this one has run: commands run in order on a connection. */
  async function settled(): Promise<void> {
    await waitFor(
      () =>
        coord.lastActivity('settled').then(
          () => true,
          () => false,
        ),
      20_000,
      'Redis to answer again',
    );
  }

  for (const backend of ['memory', 'redis'] as const) {
    it(`is re-entrant for its owner and exclusive for others (${backend})`, async function () {
      const store: Coord = backend === 'memory' ? new MemoryCoord() : coord;
      assert.equal(await store.acquireWakeLock('srv', 'me', 60_000), true);
      assert.equal(await store.acquireWakeLock('srv', 'me', 60_000), true, 'its own lock again');
      assert.equal(await store.acquireWakeLock('srv', 'other', 60_000), false);
      await store.releaseWakeLock('srv', 'me');
      assert.equal(await store.acquireWakeLock('srv', 'other', 60_000), true);
    });
  }

  it('releases a lock whose SET timed out, once Redis runs it', async function () {
    redis.stop();
    const release = await acquireWakeLock(
      coord,
      'srv',
      'me',
      new AbortController().signal,
      silentLogger(),
      60_000,
    );
    await release(); // nothing to release: it went on without the lock
    redis.resume();
    await settled();
    await inspector.connect();
    assert.equal(await inspector.get('mcpfleet:wakelock:srv'), null, 'no lock left standing');
  });

  it('wakes at once after Redis was stopped mid-lock and resumed', async function () {
    const store: Store = await openStore({ dataDir: 'memory://' });
    const fleet: Fleet = createLocalFleet({
      // Its startup deadline is shorter than the lock's TTL (5 s): a wake that waited on the
      // stale lock would fail instead of merely being slow.
      specs: [stdioFixture('stale-lock', 'normal', { health: { startupTimeoutMs: 3_000 } })],
      store,
      coord,
      metrics: new Metrics({ processMetrics: false }),
      logger: silentLogger(),
      drainGraceMs: 10,
    });
    try {
      await fleet.start();
      redis.stop();
      // Its SET times out, so it wakes without the lock; the SET is still on the connection.
      await fleet.wake('stale-lock');
      redis.resume();
      await settled(); // the queued SET has run by now
      await fleet.sleep('stale-lock');

      const startedAt = Date.now();
      await fleet.wake('stale-lock');
      const tookMs = Date.now() - startedAt;
      assert.equal(fleet.status('stale-lock')?.state, 'ready');
      console.log(`      woke in ${tookMs} ms after the outage`);
    } finally {
      await fleet.stop();
    }
  });
});
