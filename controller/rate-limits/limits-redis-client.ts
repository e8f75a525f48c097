// The rate limits' own Redis connection, apart from coordination's (coord/redis.ts): a limit is
// checked on every request, so while Redis is away a check must fail at once and be decided
// in-process, where coordination's calls may wait seconds. So: no offline queue (a command
// sent while disconnected fails immediately instead of waiting for a reconnect), a short
// command timeout (a Redis that accepts and never answers), and reconnecting in the background
// from the start — a Redis unreachable when the controller starts costs the limits their
// sharing, not the start.
import { Redis } from 'ioredis';
import type { Logger } from '../observability/log.ts';
import { redactUrl } from '../store/redact-url.ts';

export interface LimitsRedisClient {
  redis: Redis;
  close(): Promise<void>;
}

export function connectLimitsRedis(
  url: string,
  timeoutMs: number,
  logger: Logger,
): LimitsRedisClient {
  const shown = redactUrl(url);
  const redis = new Redis(url, {
    connectionName: 'mcpfleet-ratelimit',
    enableOfflineQueue: false,
    connectTimeout: Math.max(timeoutMs, 1_000),
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, 2_000),
  });
  let lastLoggedAt = 0;
  redis.on('error', (err: Error) => {
    // ioredis reports every reconnect attempt; one line per 10 s is enough.
    const now = Date.now();
    if (now - lastLoggedAt < 10_000) return;
    lastLoggedAt = now;
    logger.warn({ err: err.message, url: shown }, 'rate limits: redis connection error');
  });
  return {
    redis,
    close: async () => {
      if (redis.status !== 'ready') {
        redis.disconnect();
        return;
      }
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
