// Audit records reach the store in batches, off the request path: record() only appends to an
// in-memory buffer (no promise, no I/O), and a flush writes up to `batchRows` records in one
// multi-row INSERT every `flushMs`, or sooner once a batch is full. While the store is down the
// records wait, up to `maxBuffered`; past that new ones are dropped and counted
// (mcpfleet_audit_records_dropped_total) rather than held against memory or the caller. close()
// writes everything still buffered: the controller calls it once no request can start.
import type { Logger } from '../observability/log.ts';
import type { Store } from '../store/store.ts';
import type { AuditRecord } from './audit-record.ts';
import type { AuditMetrics, DropReason } from './audit-metrics.ts';

export const DEFAULT_AUDIT_FLUSH_MS = 1000;
export const DEFAULT_AUDIT_BATCH_ROWS = 500;
export const DEFAULT_AUDIT_MAX_BUFFERED = 20_000;

export interface AuditWriterOptions {
  store: Pick<Store, 'insertAuditRecords'>;
  logger: Logger;
  metrics?: AuditMetrics;
  /** How often buffered records are written; default 1 s. */
  flushMs?: number;
  /** Records per INSERT, and the count that starts a flush before its time; default 500. */
  batchRows?: number;
  /** Records kept while the store does not take them; default 20,000. */
  maxBuffered?: number;
}

export class AuditWriter {
  readonly #store: AuditWriterOptions['store'];
  readonly #log: Logger;
  readonly #metrics: AuditMetrics | undefined;
  readonly #batchRows: number;
  readonly #maxBuffered: number;
  #buffer: AuditRecord[] = [];
  #flushing: Promise<void> | undefined;
  #early: NodeJS.Immediate | undefined;
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  /** The last write failed: say so once, not at every flush of the outage. */
  #failing = false;
  #droppedInOutage = 0;
  #written = 0;
  #dropped = 0;

  constructor(options: AuditWriterOptions) {
    this.#store = options.store;
    this.#log = options.logger;
    this.#metrics = options.metrics;
    this.#batchRows = positive(options.batchRows ?? DEFAULT_AUDIT_BATCH_ROWS, 'batchRows');
    this.#maxBuffered = positive(options.maxBuffered ?? DEFAULT_AUDIT_MAX_BUFFERED, 'maxBuffered');
    const flushMs = positive(options.flushMs ?? DEFAULT_AUDIT_FLUSH_MS, 'flushMs');
    this.#timer = setInterval(() => void this.flush(), flushMs);
    this.#timer.unref();
  }

  /** Records waiting to be written. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Written and dropped since start (the metrics carry the same counts). */
  get counts(): { written: number; dropped: number } {
    return { written: this.#written, dropped: this.#dropped };
  }

  /** Never blocks, never throws: the caller is answering a request. */
  record(record: AuditRecord): void {
    if (this.#closed) return this.#drop(1, 'closed');
    if (this.#buffer.length >= this.#maxBuffered) return this.#drop(1, 'buffer-full');
    this.#buffer.push(record);
    // A full batch goes now rather than at the next tick; not while the store is failing,
    // where each record would start one more doomed write.
    if (this.#buffer.length >= this.#batchRows && !this.#failing && !this.#early) {
      this.#early = setImmediate(() => {
        this.#early = undefined;
        void this.flush();
      });
    }
  }

  /** Writes what is buffered; concurrent calls share one flush. Never rejects. */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  /**
   * The final flush: after it nothing is buffered, written or, when the store refused it,
   * dropped (counted as write-failed). Records arriving later are dropped as closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return this.#flushing;
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#early) clearImmediate(this.#early);
    await this.#flushing;
    await this.flush();
    if (this.#buffer.length > 0) {
      this.#log.error(
        { records: this.#buffer.length },
        'audit records could not be written before shutdown; they are lost',
      );
      this.#drop(this.#buffer.length, 'write-failed');
      this.#buffer = [];
    }
  }

  async #drain(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, this.#batchRows);
      try {
        await this.#store.insertAuditRecords(batch);
      } catch (err) {
        this.#requeue(batch);
        if (!this.#failing) {
          this.#failing = true;
          this.#log.warn(
            { err, buffered: this.#buffer.length, maxBuffered: this.#maxBuffered },
            'audit records cannot be written; keeping them in memory and trying again',
          );
        }
        return;
      }
      this.#written += batch.length;
      this.#metrics?.written.inc(batch.length);
      if (this.#failing) {
        this.#failing = false;
        this.#log.info(
          { dropped: this.#droppedInOutage },
          'audit records are written again' +
            (this.#droppedInOutage > 0 ? '; some were dropped meanwhile' : ''),
        );
        this.#droppedInOutage = 0;
      }
    }
  }

  /** A failed batch goes back in front, in order; the newest overflow is dropped. */
  #requeue(batch: AuditRecord[]): void {
    const all = batch.concat(this.#buffer);
    const over = all.length - this.#maxBuffered;
    if (over > 0) {
      all.length = this.#maxBuffered;
      this.#drop(over, 'buffer-full');
    }
    this.#buffer = all;
  }

  #drop(count: number, reason: DropReason): void {
    this.#dropped += count;
    if (this.#failing) this.#droppedInOutage += count;
    this.#metrics?.dropped.inc({ reason }, count);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`audit ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
