// Old audit records are deleted by age (--audit-retention, default 30 days), a batch at a time
// so no delete holds the table for long. With several controller replicas on one database only
// one deletes at a time: each batch runs under a PostgreSQL advisory lock (audit-rows.ts), and
// a replica that finds it taken leaves this round to the one holding it. The lock lives where
// the rows do, so it holds with or without Redis and needs no leader.
import type { Logger } from '../observability/log.ts';
import type { Store } from '../store/store.ts';

export const DEFAULT_AUDIT_RETENTION_MS = 30 * 86_400_000;
export const DEFAULT_RETENTION_INTERVAL_MS = 15 * 60_000;
export const DEFAULT_RETENTION_BATCH = 1000;

export interface AuditRetentionOptions {
  store: Pick<Store, 'deleteAuditBefore'>;
  logger: Logger;
  /** Records older than this are deleted; 0 keeps them all. */
  retentionMs: number;
  /** How often to look; default 15 min. The first look comes at a random point of it. */
  intervalMs?: number;
  /** Records per DELETE; default 1000. */
  batch?: number;
}

export class AuditRetention {
  readonly #options: AuditRetentionOptions;
  readonly #batch: number;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> | undefined;
  #closed = false;

  constructor(options: AuditRetentionOptions) {
    if (!Number.isFinite(options.retentionMs) || options.retentionMs < 0) {
      throw new RangeError(`audit retention must be 0 or more, got ${options.retentionMs}`);
    }
    this.#options = options;
    this.#batch = options.batch ?? DEFAULT_RETENTION_BATCH;
  }

  /** Starts the periodic sweep (nothing to do when retention is 0). */
  start(): void {
    if (this.#options.retentionMs === 0 || this.#closed) return;
    const interval = this.#options.intervalMs ?? DEFAULT_RETENTION_INTERVAL_MS;
    // Replicas started together (a rollout) do not all look at the same moment.
    const schedule = (delay: number): void => {
      this.#timer = setTimeout(() => {
        void this.sweep().finally(() => {
          if (!this.#closed) schedule(interval);
        });
      }, delay);
      this.#timer.unref();
    };
    schedule(Math.random() * interval);
  }

  /** Deletes every record past retention, batch by batch; returns how many. Never rejects. */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweepOnce().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#sweeping;
  }

  async #sweepOnce(): Promise<number> {
    const { store, logger, retentionMs } = this.#options;
    if (retentionMs === 0) return 0;
    const before = Date.now() - retentionMs;
    let total = 0;
    try {
      while (!this.#closed) {
        const deleted = await store.deleteAuditBefore(before, this.#batch);
        if (deleted === undefined) break; // another replica is at it
        total += deleted;
        if (deleted < this.#batch) break;
      }
    } catch (err) {
      logger.warn({ err, deleted: total }, 'deleting old audit records failed; trying again later');
    }
    if (total > 0) {
      logger.info(
        { deleted: total, before: new Date(before).toISOString() },
        'old audit records deleted',
      );
    }
    return total;
  }
}
