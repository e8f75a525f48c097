// The controller's audit log: the batched writer, its metrics and the retention sweep, as the
// one object the gateway and the API are given. Absent (tests, benches with audit off), nothing
// is recorded and nothing else changes.
import type { Registry } from 'prom-client';
import type { Logger } from '../observability/log.ts';
import type { Store } from '../store/store.ts';
import { AuditMetrics } from './audit-metrics.ts';
import type { AuditEntry, AuditQuery, AuditRecord } from './audit-record.ts';
import { AuditRetention, DEFAULT_AUDIT_RETENTION_MS } from './audit-retention.ts';
import { AuditWriter } from './audit-writer.ts';

export interface AuditSettings {
  /** Records older than this are deleted (--audit-retention); 0 keeps them. Default 30 days. */
  retentionMs: number;
  /** How often the retention sweep looks (default 15 min). */
  retentionIntervalMs?: number;
  /** Writer tuning (audit-writer.ts): flush period, rows per INSERT, in-memory bound. */
  flushMs?: number;
  batchRows?: number;
  maxBuffered?: number;
}

export interface AuditLogOptions extends Partial<AuditSettings> {
  store: Pick<Store, 'insertAuditRecords' | 'listAudit' | 'deleteAuditBefore'>;
  logger: Logger;
  /** Where its metrics are registered (the controller's /metrics). */
  registry?: Registry;
}

export class AuditLog {
  readonly writer: AuditWriter;
  readonly retention: AuditRetention;
  readonly #store: AuditLogOptions['store'];

  constructor(options: AuditLogOptions) {
    this.#store = options.store;
    const logger = options.logger.child({ component: 'audit' });
    const metrics = options.registry
      ? new AuditMetrics(options.registry, () => this.writer.buffered)
      : undefined;
    this.writer = new AuditWriter({
      store: options.store,
      logger,
      metrics,
      flushMs: options.flushMs,
      batchRows: options.batchRows,
      maxBuffered: options.maxBuffered,
    });
    this.retention = new AuditRetention({
      store: options.store,
      logger,
      retentionMs: options.retentionMs ?? DEFAULT_AUDIT_RETENTION_MS,
      intervalMs: options.retentionIntervalMs,
    });
    this.retention.start();
  }

  record(record: AuditRecord): void {
    this.writer.record(record);
  }

  /** Newest first: what GET /api/v1/audit answers (records still buffered are not there yet). */
  list(query: AuditQuery): Promise<AuditEntry[]> {
    return this.#store.listAudit(query);
  }

  /** Stops the sweep and writes what is buffered; call once no request can start. */
  async close(): Promise<void> {
    await this.retention.close();
    await this.writer.close();
  }
}
