// Rate limits shared through real Redis: two controllers on one Redis (the shared one, each test
// under its own key prefix) spend one budget; and on a Redis of the test's own, a Redis that
// stops answering (SIGSTOP) or is killed costs no request an answer — each check is then
// decided in-process, still limited, said once in the log and counted — and when Redis is back
// the budget is shared again.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Agent, fetch, type Dispatcher } from 'undici';
import { createLogger, silentLogger } from '../../../controller/observability/log.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import { startOwnRedis, type OwnRedis } from '../activator/redis-server.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { logRecorder, type LogRecorder } from '../support/log-recorder.ts';
import { waitFor } from '../support/processes.ts';
import { allAnswered, metricValue } from './rate-limit-clients.ts';

const SHARED_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LIMIT = 10;
/** The key an anonymous caller on `address` spends under `prefix`. */
const callerKey = (prefix: string, address = '127.0.0.1'): string =>
  `${prefix}:principal:address:${address}`;

function limitedController(
  redisUrl: string,
  keyPrefix: string,
  logger = silentLogger(),
  redisTimeoutMs?: number,
): Promise<RunningController> {
  return startController({
    specs: [stdioFixture('fix', 'normal')],
    port: 0,
    dataDir: 'memory://',
    redisUrl,
    logger,
    rateLimits: {
      perPrincipal: { points: LIMIT, windowSeconds: 60, burst: 0 },
      perServer: null,
      keyPrefix,
      ...(redisTimeoutMs === undefined ? {} : { redisTimeoutMs }),
    },
  });
}

/**
 * GET /api/v1/servers `count` times at once (from the address `dispatcher` binds); the
 * statuses, every one answered within 20 s.
 */
async function statuses(
  controller: RunningController,
  count: number,
  dispatcher?: Dispatcher,
): Promise<number[]> {
  const replies = await allAnswered(
    Array.from({ length: count }, async () => {
      const reply = await fetch(
        `${controller.url}/api/v1/servers`,
        dispatcher ? { dispatcher } : {},
      );
      await reply.arrayBuffer();
      return reply.status;
    }),
    20_000,
  );
  return replies.map((r) => (r.status === 'fulfilled' ? r.value : 0));
}

/** A key's value in the Redis at `url`, read over a connection of its own. */
async function valueIn(url: string, key: string): Promise<string | null> {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    return await client.get(key);
  } finally {
    client.disconnect();
  }
}

const count = (list: number[], status: number): number => list.filter((s) => s === status).length;

describe('rate limits shared through Redis', function () {
  this.timeout(90_000);
  const controllers: RunningController[] = [];
  let redis: Redis;
  const prefix = `mcpfleet-test:ratelimit:${randomUUID()}`;

  before(function () {
    redis = new Redis(SHARED_REDIS);
  });
  afterEach(async function () {
    await Promise.all(controllers.splice(0).map((c) => c.close()));
  });
  after(async function () {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('two controllers on one Redis spend one budget', async function () {
    const first = await limitedController(SHARED_REDIS, prefix);
    const second = await limitedController(SHARED_REDIS, prefix);
    controllers.push(first, second);
    const fromFirst = await statuses(first, 6);
    assert.deepEqual(fromFirst, Array(6).fill(200));
    const fromSecond = await statuses(second, 6 + 20);
    // In-process counters would admit 10 more here; the shared one has 4 left.
    assert.equal(count(fromSecond, 200), 4, fromSecond.join());
    assert.equal(count(fromSecond, 429), 22, fromSecond.join());
    assert.ok(Number(await redis.get(callerKey(prefix))) > LIMIT, 'counted in the shared Redis');
  });

  describe('on a Redis that goes away', function () {
    let own: OwnRedis;
    let log: LogRecorder;
    let controller: RunningController;
    const ownPrefix = `mcpfleet-test:ratelimit:${randomUUID()}`;
    const logged = (msg: string): number => log.records.filter((r) => r.msg === msg).length;

    beforeEach(async function () {
      own = await startOwnRedis();
      log = logRecorder();
      controller = await limitedController(
        own.url,
        ownPrefix,
        createLogger({ level: 'info', destination: log.stream }),
      );
      controllers.push(controller);
    });
    afterEach(async function () {
      own.resume();
      await own.close();
    });

    it('a Redis that stops answering (SIGSTOP): every request is answered, decided in-process', async function () {
      assert.deepEqual(await statuses(controller, 4), Array(4).fill(200));
      own.stop();
      const during = await statuses(controller, 20);
      // The in-process insurance starts from nothing: 10 admitted, then refused.
      assert.equal(count(during, 200), LIMIT, during.join());
      assert.equal(count(during, 429), 20 - LIMIT, during.join());
      assert.ok((await metricValue(controller, 'mcpfleet_rate_limit_fallbacks_total')) >= LIMIT);
      assert.equal(
        logged(
          'rate limits decided in-process: Redis does not answer (each controller replica now allows the whole budget)',
        ),
        1,
      );
    });

    it('a hung Redis costs one command timeout, not one per request: the connection is dialled again', async function () {
      // A long command timeout, so waiting it on every request could not pass for noise.
      const timeoutMs = 2_000;
      const patient = await limitedController(own.url, ownPrefix, silentLogger(), timeoutMs);
      controllers.push(patient);
      assert.deepEqual(await statuses(patient, 2), [200, 200]);
      own.stop();
      await statuses(patient, 2); // these wait out the timeout: the hang is found
      const started = performance.now();
      for (let i = 0; i < 10; i++) await statuses(patient, 1);
      const ms = performance.now() - started;
      // Waiting the timeout each time would take 10 × 2 s; decided in-process, a few ms each.
      assert.ok(ms < 2 * timeoutMs, `10 checks took ${Math.round(ms)} ms`);
      own.resume();
      // Shared again once Redis answers the reconnect: a check is counted there (beyond the 2).
      await waitFor(
        async () => {
          await statuses(patient, 1);
          return Number(await valueIn(own.url, callerKey(ownPrefix))) > 2;
        },
        15_000,
        'a check counted in Redis again',
      );
    });

    it('a Redis killed mid-way: still answering and limiting; shared again once it is back', async function () {
      assert.deepEqual(await statuses(controller, 4), Array(4).fill(200));
      assert.equal(await valueIn(own.url, callerKey(ownPrefix)), '4', 'counted in Redis');

      await own.kill();
      const during = await statuses(controller, 20);
      assert.equal(count(during, 200), LIMIT, during.join());
      assert.equal(count(during, 429), 20 - LIMIT, during.join());
      assert.ok((await metricValue(controller, 'mcpfleet_rate_limit_fallbacks_total')) >= LIMIT);

      await own.start(); // a new, empty Redis on the same port
      await waitFor(
        () => logged('rate limits are shared through Redis again') === 1,
        20_000,
        'the rate limits to reconnect',
      );
      // 127.0.0.1 stays refused until its in-process window ends; another caller is counted in
      // the new Redis.
      const other = new Agent({ localAddress: '127.0.0.2' });
      try {
        assert.deepEqual(await statuses(controller, 1, other), [200]);
      } finally {
        await other.close();
      }
      assert.equal(
        await valueIn(own.url, callerKey(ownPrefix, '127.0.0.2')),
        '1',
        'counted in the new Redis',
      );
    });
  });
});
