// Runs the Coord contract against both backends: in-process and a real Redis.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryCoord } from '../../../controller/coord/memory.ts';
import { openCoord } from '../../../controller/coord/open-coord.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { coordContract } from './coord-contract.ts';
import { waitFor } from './wait-for.ts';
import { withSilentPeer } from '../support/silent-peer.ts';
import { freePort } from '../support/free-port.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('coord', () => {
  describe('MemoryCoord', () => {
    coordContract({
      open: async () => new MemoryCoord({ onSubscriberError: () => undefined }),
      peer: async (of) => of,
    });

    it('is what openCoord gives without a Redis URL', async () => {
      const coord = await openCoord({});
      assert.ok(coord instanceof MemoryCoord);
      await coord.close();
    });
  });

  describe('RedisCoord (real Redis)', () => {
    // One key namespace per test run; every key under it is deleted afterwards, so runs
    // (and other engineers' tests on the same Redis) never see each other.
    const runPrefix = `mcpfleet-test:${randomUUID()}:`;
    let testIndex = 0;
    let currentPrefix = '';
    let admin: Redis;

    before(async () => {
      admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await admin.connect();
    });
    beforeEach(() => {
      currentPrefix = `${runPrefix}${testIndex++}:`;
    });
    after(async () => {
      const keys = await scanKeys(admin, `${runPrefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    });

    coordContract({
      open: () =>
        openCoord({ redisUrl: REDIS_URL, keyPrefix: currentPrefix, logger: silentLogger() }),
      peer: () => openCoord({ redisUrl: REDIS_URL, keyPrefix: currentPrefix }),
    });

    it('keeps every key under its prefix', async () => {
      const coord = await openCoord({ redisUrl: REDIS_URL, keyPrefix: currentPrefix });
      try {
        await coord.touch('srv', 1);
        await coord.acquireWakeLock('srv', 'me', 10_000);
        await coord.setSessionRoute('srv', 'sess', 'replica', 10_000);
        const keys = (await scanKeys(admin, `${currentPrefix}*`)).sort();
        assert.deepEqual(keys, [
          `${currentPrefix}activity:srv`,
          `${currentPrefix}route:srv:sess`,
          `${currentPrefix}wakelock:srv`,
        ]);
        // The lock and the route carry a TTL in Redis itself; activity is overwritten, not leaked.
        assert.ok((await admin.pttl(`${currentPrefix}wakelock:srv`)) > 0);
        assert.ok((await admin.pttl(`${currentPrefix}route:srv:sess`)) > 0);
      } finally {
        await coord.close();
      }
    });

    it('does not share state across prefixes', async () => {
      const a = await openCoord({ redisUrl: REDIS_URL, keyPrefix: `${currentPrefix}a:` });
      const b = await openCoord({ redisUrl: REDIS_URL, keyPrefix: `${currentPrefix}b:` });
      try {
        assert.equal(await a.acquireWakeLock('srv', 'a', 10_000), true);
        assert.equal(await b.acquireWakeLock('srv', 'b', 10_000), true);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('reconnects and resubscribes after its connections are killed', async () => {
      const connectionName = `mcpfleet-test-${randomUUID()}`;
      const coord = await openCoord({
        redisUrl: REDIS_URL,
        keyPrefix: currentPrefix,
        connectionName,
      });
      try {
        const seen: string[] = [];
        await coord.subscribe('ready', (m) => seen.push(m));
        await coord.touch('srv', 5);
        const killed = await killConnectionsNamed(admin, connectionName);
        assert.equal(killed, 2, 'the command connection and the subscriber connection');
        await waitFor(async () => (await coord.lastActivity('srv').catch(() => undefined)) === 5, {
          what: 'commands to work again after the reconnect',
        });
        await waitFor(
          async () => {
            await coord.publish('ready', 'srv');
            return seen.length > 0;
          },
          { intervalMs: 50, what: 'the subscription to be restored' },
        );
      } finally {
        await coord.close();
      }
    });
  });

  describe('bad Redis URLs', () => {
    it('names the URL when nothing listens there, without hanging', async () => {
      const port = await freePort();
      const started = Date.now();
      await assert.rejects(
        openCoord({ redisUrl: `redis://127.0.0.1:${port}`, timeoutMs: 2_000 }),
        (err: Error) => {
          assert.match(
            err.message,
            new RegExp(`cannot connect to Redis at redis://127\\.0\\.0\\.1:${port}`),
          );
          assert.match(err.message, /ECONNREFUSED/);
          return true;
        },
      );
      assert.ok(Date.now() - started < 2_000);
    });

    it('gives up within its timeout on a peer that accepts but never answers', async () => {
      await withSilentPeer(async (port) => {
        const started = Date.now();
        await assert.rejects(
          openCoord({ redisUrl: `redis://:s3cret@127.0.0.1:${port}`, timeoutMs: 300 }),
          (err: Error) => {
            assert.match(err.message, /cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/);
            assert.doesNotMatch(err.message, /s3cret/);
            return true;
          },
        );
        assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
      });
    });

    it('rejects a URL that is not a Redis URL', async () => {
      await assert.rejects(
        openCoord({ redisUrl: 'http://127.0.0.1:6379' }),
        /redis:\/\/ or rediss:\/\//,
      );
      await assert.rejects(openCoord({ redisUrl: 'not a url' }), /invalid Redis URL "not a url"/);
    });
  });
});

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

async function killConnectionsNamed(redis: Redis, name: string): Promise<number> {
  const list = (await redis.client('LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await redis.client('KILL', 'ID', id);
  return ids.length;
}
