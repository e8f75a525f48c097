// Picks the coordination backend: Redis when a URL is given (several gateway replicas),
// in-process otherwise (the embedded default, one controller).
import type { Logger } from '../observability/log.ts';
import type { Coord } from './coord.ts';
import { MemoryCoord } from './memory.ts';
import { connectRedisCoord } from './redis.ts';

export interface CoordOptions {
  /** redis://... or rediss://...; absent → in-process. */
  redisUrl?: string;
  /** Redis key and channel namespace; default "mcpfleet:". */
  keyPrefix?: string;
  /** Bound on connecting and on each Redis command; default 5 s. */
  timeoutMs?: number;
  /** Redis CLIENT SETNAME for the controller's connections; default "mcpfleet". */
  connectionName?: string;
  logger?: Logger;
}

export async function openCoord(options: CoordOptions = {}): Promise<Coord> {
  if (!options.redisUrl) {
    const logger = options.logger;
    return new MemoryCoord({
      onSubscriberError: (err, channel) =>
        logger
          ? logger.error({ err, channel }, 'coord subscriber threw')
          : process.emitWarning(`coord subscriber on "${channel}" threw: ${String(err)}`),
    });
  }
  return connectRedisCoord({
    url: options.redisUrl,
    keyPrefix: options.keyPrefix,
    timeoutMs: options.timeoutMs,
    connectionName: options.connectionName,
    logger: options.logger,
  });
}
