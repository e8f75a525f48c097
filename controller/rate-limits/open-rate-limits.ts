// The rate limits as the controller starts them: counters in Redis when a Redis URL is
// configured (every replica spends one budget), in-process otherwise (one controller). While
// Redis does not answer, checks are decided in-process — each replica then allows the whole
// budget on its own — and the log says so once when it starts and once when Redis is back;
// mcpfleet_rate_limit_fallbacks_total counts the checks decided that way.
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { CounterStore } from './limit-counter.ts';
import { connectLimitsRedis, type LimitsRedisClient } from './limits-redis-client.ts';
import { describeRate, type RateLimitSettings } from './rate-limit-settings.ts';
import { RateLimits } from './rate-limits.ts';

export interface OpenRateLimitsOptions {
  settings: RateLimitSettings;
  /** redis://…; absent → in-process counters. */
  redisUrl?: string;
  logger: Logger;
  metrics: Metrics;
}

export interface OpenedRateLimits {
  limits: RateLimits;
  close(): Promise<void>;
}

export function openRateLimits(options: OpenRateLimitsOptions): OpenedRateLimits {
  const { settings, metrics } = options;
  const logger = options.logger.child({ component: 'rate-limits' });
  const limited = settings.perPrincipal !== null || settings.perServer !== null;
  let client: LimitsRedisClient | undefined;
  let store: CounterStore = { kind: 'memory' };
  if (limited && options.redisUrl) {
    const opened = connectLimitsRedis(options.redisUrl, settings.redisTimeoutMs, logger);
    client = opened;
    let fallingBack = false;
    let redialing = false;
    opened.redis.on('ready', () => {
      redialing = false;
      if (!fallingBack) return;
      fallingBack = false;
      logger.info('rate limits are shared through Redis again');
    });
    store = {
      kind: 'redis',
      redis: opened.redis,
      onFallback: () => {
        metrics.rateLimitFallbacks.inc();
        // A connection that looks ready but did not answer (a hung Redis: every check would
        // wait the whole command timeout) is dropped and dialled again: until Redis answers
        // the reconnect's ready check, the insurance decides at once (rejectIfRedisNotReady).
        // Once: the status stays 'ready' until the socket has closed, and the checks that
        // timed out together all land here.
        if (opened.redis.status === 'ready' && !redialing) {
          redialing = true;
          opened.redis.disconnect(true);
        }
        if (fallingBack) return;
        fallingBack = true;
        logger.warn(
          'rate limits decided in-process: Redis does not answer (each controller replica now allows the whole budget)',
        );
      },
    };
  }
  if (limited)
    logger.info(
      {
        perPrincipal: settings.perPrincipal ? describeRate(settings.perPrincipal) : 'off',
        perServer: settings.perServer ? describeRate(settings.perServer) : 'off',
        shared: store.kind === 'redis',
      },
      'rate limits',
    );
  return {
    limits: new RateLimits(settings, store, logger, metrics),
    close: async () => {
      await client?.close();
    },
  };
}
