// The audit log's own metrics: records written and dropped (the store was down longer than
// the buffer lasts, or a record came after the final flush), and records waiting in memory.
// A dropped record is a hole in the audit trail: alert on mcpfleet_audit_records_dropped_total.
import { Counter, Gauge, type Registry } from 'prom-client';

export const DROP_REASONS = ['buffer-full', 'write-failed', 'closed'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export class AuditMetrics {
  readonly written: Counter;
  readonly dropped: Counter<'reason'>;
  readonly buffered: Gauge;

  constructor(registry: Registry, buffered: () => number) {
    this.written = new Counter({
      name: 'mcpfleet_audit_records_written_total',
      help: 'Audit records written to the store',
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'mcpfleet_audit_records_dropped_total',
      help: 'Audit records lost: buffer-full (the store was down too long), write-failed, closed',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    for (const reason of DROP_REASONS) this.dropped.inc({ reason }, 0);
    const gauge: Gauge = new Gauge({
      name: 'mcpfleet_audit_records_buffered',
      help: 'Audit records in memory, waiting for their batch to be written',
      registers: [registry],
      collect: () => gauge.set(buffered()),
    });
    this.buffered = gauge;
  }
}
