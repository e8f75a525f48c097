// The audit_log table (migrations/005_audit_log.sql) for SqlStore: the writer's multi-row
// INSERT, the newest-first reads of GET /api/v1/audit, and the retention's batched DELETE.
import type { AuditEntry, AuditQuery, AuditRecord } from '../audit/audit-record.ts';
import type { SqlDatabase } from './sql.ts';

const COLUMNS = [
  'at',
  'action',
  'principal',
  'principal_name',
  'server',
  'tool',
  'target',
  'decision',
  'reason',
  'status',
  'completed',
  'duration_ms',
  'request_id',
] as const;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** Names the advisory lock that keeps replicas from deleting old rows at the same time. */
const RETENTION_LOCK = 'mcpfleet:audit-retention';

interface AuditRow {
  id: number | string;
  at: Date | string;
  action: AuditEntry['action'];
  principal: string;
  principal_name: string;
  server: string | null;
  tool: string | null;
  target: string | null;
  decision: AuditEntry['decision'];
  reason: string | null;
  status: number;
  completed: boolean;
  duration_ms: number;
  request_id: string;
}

/** Each column's SQL type, for json_to_recordset to read the batch with. */
const COLUMN_TYPES: Record<(typeof COLUMNS)[number], string> = {
  at: 'timestamptz',
  action: 'text',
  principal: 'text',
  principal_name: 'text',
  server: 'text',
  tool: 'text',
  target: 'text',
  decision: 'text',
  reason: 'text',
  status: 'integer',
  completed: 'boolean',
  duration_ms: 'double precision',
  request_id: 'text',
};
/**
 * One INSERT for the whole batch, a round trip per batch, its records in one JSON parameter
 * that json_to_recordset takes apart. A VALUES list would have 13 parameters per record: the
 * driver (or the embedded database's IPC) handles each, and PostgreSQL plans a statement of
 * thousands of them. JSON.stringify is native, and PostgreSQL reads JSON fast.
 */
const INSERT = `INSERT INTO audit_log (${COLUMNS.join(', ')})
  SELECT ${COLUMNS.join(', ')} FROM json_to_recordset($1::json)
  AS batch(${COLUMNS.map((c) => `${c} ${COLUMN_TYPES[c]}`).join(', ')})`;

export async function insertAuditRecords(
  db: SqlDatabase,
  records: readonly AuditRecord[],
): Promise<void> {
  if (records.length === 0) return;
  const rows = records.map((r) => ({
    at: new Date(r.at).toISOString(),
    action: r.action,
    principal: r.principal,
    principal_name: r.principalName,
    server: r.server,
    tool: r.tool,
    target: r.target,
    decision: r.decision,
    reason: r.reason,
    status: r.status,
    completed: r.completed,
    duration_ms: r.durationMs,
    request_id: r.requestId,
  }));
  await db.query(INSERT, [JSON.stringify(rows)]);
}

export async function listAudit(db: SqlDatabase, query: AuditQuery): Promise<AuditEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => `$${params.push(value)}`;
  if (query.server !== undefined) where.push(`server = ${param(query.server)}`);
  if (query.principal !== undefined) {
    const p = param(query.principal);
    where.push(`(principal = ${p} OR principal_name = ${p})`);
  }
  if (query.action !== undefined) where.push(`action = ${param(query.action)}`);
  if (query.since !== undefined) where.push(`at >= ${param(new Date(query.since))}`);
  if (query.until !== undefined) where.push(`at < ${param(new Date(query.until))}`);
  if (query.after !== undefined) {
    where.push(`(at, id) < (${param(new Date(query.after.at))}, ${param(query.after.id)})`);
  }
  const limit = Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
  const rows = await db.query<AuditRow>(
    `SELECT id, ${COLUMNS.join(', ')} FROM audit_log
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY at DESC, id DESC LIMIT ${param(limit)}`,
    params,
  );
  return rows.map(toEntry);
}

/**
 * Deletes up to `batch` records older than `before`, in one transaction holding an advisory
 * lock: undefined when another controller holds it (it is deleting; this one need not).
 * Small batches keep each transaction short, so inserts are never held up for long.
 */
export async function deleteAuditBefore(
  db: SqlDatabase,
  before: number,
  batch: number,
): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    const [lock] = await tx.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked',
      [RETENTION_LOCK],
    );
    if (!lock?.locked) return undefined;
    const deleted = await tx.query<{ id: number }>(
      `DELETE FROM audit_log WHERE id IN (
         SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2
       ) RETURNING id`,
      [new Date(before), batch],
    );
    return deleted.length;
  });
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    // bigserial: pg returns int8 as a string, PGlite as a number.
    id: Number(row.id),
    at: (row.at instanceof Date ? row.at : new Date(row.at)).toISOString(),
    action: row.action,
    principal: row.principal,
    principalName: row.principal_name,
    server: row.server,
    tool: row.tool,
    target: row.target,
    decision: row.decision,
    reason: row.reason,
    status: row.status,
    completed: row.completed,
    durationMs: row.duration_ms,
    requestId: row.request_id,
  };
}
