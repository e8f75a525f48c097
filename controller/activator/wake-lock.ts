// One wake per server across gateway replicas: whoever holds the coord wake lock wakes;
// the others wait for it (polling) instead of starting their own at the same moment.
// A coordination outage must not stop wakes, so errors degrade to "wake without the lock".
import type { Coord } from '../coord/coord.ts';
import type { Logger } from '../observability/log.ts';

export class WakeTimeoutError extends Error {
  override name = 'WakeTimeoutError';
}

const POLL_MS = 50;

/** Resolves with a release function once this owner holds the lock; rejects on `signal`. */
export async function acquireWakeLock(
  coord: Coord,
  server: string,
  owner: string,
  ttlMs: number,
  signal: AbortSignal,
  logger: Logger,
): Promise<() => Promise<void>> {
  for (;;) {
    if (signal.aborted)
      throw signal.reason instanceof Error ? signal.reason : new Error('wake aborted');
    let acquired: boolean;
    try {
      acquired = await coord.acquireWakeLock(server, owner, ttlMs);
    } catch (err) {
      logger.warn({ err, server }, 'wake lock unavailable; waking without it');
      return async () => {};
    }
    if (acquired) {
      return async () => {
        await coord
          .releaseWakeLock(server, owner)
          .catch((err: unknown) => logger.warn({ err, server }, 'could not release wake lock'));
      };
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, POLL_MS);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}
