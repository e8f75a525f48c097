// One wake per server across gateway replicas: whoever holds the coord wake lock wakes;
// the others wait for it (polling) instead of starting their own at the same moment.
// The lock is short-lived and renewed by its holder while the wake runs, so a holder that
// dies mid-wake (a controller pod killed) blocks the others for LOCK_TTL_MS at most, not for
// the whole startup timeout: the next replica takes the lock and finishes the wake.
// A coordination outage must not stop wakes, so errors degrade to "wake without the lock".
// Such an attempt may still land: a command that timed out on the client stays queued on its
// connection (a Redis that was stopped, not gone, runs it once it resumes; a reconnect resends
// it), and the lock would then be held by nobody, for its TTL, against every wake. So its
// release is queued right behind it, and the lock is re-entrant (coord.ts): this controller
// never waits on a lock it left itself.
import type { Coord } from '../coord/coord.ts';
import type { Logger } from '../observability/log.ts';

/** How long a wake lock outlives its last renewal. */
export const LOCK_TTL_MS = 5_000;
export class WakeTimeoutError extends Error {
  override name = 'WakeTimeoutError';
}

const POLL_MS = 50;

/**
 * Resolves with a release function once this owner holds the lock (renewed every third of
 * its TTL until released); rejects on `signal`.
 */
export async function acquireWakeLock(
  coord: Coord,
  server: string,
  owner: string,
  signal: AbortSignal,
  logger: Logger,
  ttlMs = LOCK_TTL_MS,
): Promise<() => Promise<void>> {
  for (;;) {
    if (signal.aborted)
      throw signal.reason instanceof Error ? signal.reason : new Error('wake aborted');
    let acquired: boolean;
    try {
      acquired = await coord.acquireWakeLock(server, owner, ttlMs);
    } catch (err) {
      logger.warn({ err, server }, 'wake lock unavailable; waking without it');
      coord
        .releaseWakeLock(server, owner)
        .catch((releaseErr: unknown) =>
          logger.debug({ err: releaseErr, server }, 'could not release the unconfirmed wake lock'),
        );
      return async () => {};
    }
    if (acquired) {
      const heartbeat = setInterval(() => {
        coord.renewWakeLock(server, owner, ttlMs).then(
          (held) => {
            if (!held) logger.warn({ server }, 'wake lock lost before the wake finished');
          },
          (err: unknown) => logger.warn({ err, server }, 'could not renew wake lock'),
        );
      }, ttlMs / 3);
      heartbeat.unref();
      return async () => {
        clearInterval(heartbeat);
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
