// One limit's counters (rate-limiter-flexible): fixed windows of `points` per `windowSeconds`,
// and when the limit has a burst, a second, longer window the rate may borrow from
// (BurstyRateLimiter). In Redis when there is one, so every controller replica spends the same
// budget; each Redis counter is insured by an in-process one of the same shape, which decides
// a check Redis did not answer (then each replica limits on its own until Redis is back).
import type { Redis } from 'ioredis';
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  type IRateLimiterOptions,
  type RateLimiterRes,
} from 'rate-limiter-flexible';
import { BURST_WINDOWS, type RateLimit } from './rate-limit-settings.ts';

export interface LimitCounter {
  /** Resolves when the key may go on; rejects with a RateLimiterRes when it is over the limit. */
  consume(key: string): Promise<RateLimiterRes>;
  /** Gives back one request consumed for nothing (its request was refused by another limit). */
  refund(key: string): Promise<unknown>;
}

/** Where a limit's counters live. */
export type CounterStore =
  | { kind: 'memory' }
  | {
      kind: 'redis';
      redis: Redis;
      /** Called each time the in-process insurance decided instead of Redis. */
      onFallback: () => void;
    };

/** An in-process counter that reports each time it stands in for Redis. */
class InsuranceCounter extends RateLimiterMemory {
  readonly #onUse: () => void;
  constructor(options: IRateLimiterOptions, onUse: () => void) {
    super(options);
    this.#onUse = onUse;
  }
  override consume(
    key: string | number,
    points?: number,
    options?: Record<string, unknown>,
  ): Promise<RateLimiterRes> {
    this.#onUse();
    return super.consume(key, points, options);
  }
}

function counter(
  options: IRateLimiterOptions,
  store: CounterStore,
  reportFallback: boolean,
): RateLimiterMemory | RateLimiterRedis {
  if (store.kind === 'memory') return new RateLimiterMemory(options);
  return new RateLimiterRedis({
    ...options,
    storeClient: store.redis,
    // Not connected: the insurance decides at once instead of the command failing later.
    rejectIfRedisNotReady: true,
    insuranceLimiter: new InsuranceCounter(
      options,
      reportFallback ? store.onFallback : () => undefined,
    ),
  });
}

export function limitCounter(
  limit: RateLimit,
  keyPrefix: string,
  store: CounterStore,
): LimitCounter {
  const rate = counter(
    { keyPrefix, points: limit.points, duration: limit.windowSeconds },
    store,
    true,
  );
  if (limit.burst === 0)
    return { consume: (key) => rate.consume(key), refund: (key) => rate.reward(key) };
  // The burst is consulted only once the rate said no, so only the rate reports fallbacks
  // (one per check).
  const burst = counter(
    {
      keyPrefix: `${keyPrefix}:burst`,
      points: limit.burst,
      duration: limit.windowSeconds * BURST_WINDOWS,
    },
    store,
    false,
  );
  const bursty = new BurstyRateLimiter(rate, burst);
  return {
    consume: (key) => bursty.consume(key),
    // To the rate, whichever window the request came from: at worst one more request passes.
    refund: (key) => rate.reward(key),
  };
}
