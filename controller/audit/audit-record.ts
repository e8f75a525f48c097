// What the audit log keeps about one call: who (the Principal's id and name), what (a
// tools/call of a tool on a server, or a management action), whether it was let through, how
// it ended and how long it took, and the request id that ties it to the logs. The gateway and
// the API make these; the writer (audit-writer.ts) batches them into the store.

/** Management actions the audit log names (tool calls are 'tools/call'). */
export const MANAGEMENT_ACTIONS = ['wake', 'sleep', 'keys.create', 'keys.revoke'] as const;
export type ManagementAction = (typeof MANAGEMENT_ACTIONS)[number];
export const TOOL_CALL_ACTION = 'tools/call';
export const AUDIT_ACTIONS = [TOOL_CALL_ACTION, ...MANAGEMENT_ACTIONS] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_DECISIONS = ['allowed', 'denied'] as const;
export type AuditDecision = (typeof AUDIT_DECISIONS)[number];

/** One audit record as it is written. */
export interface AuditRecord {
  /** When the request arrived (ms since epoch). */
  at: number;
  action: AuditAction;
  /** Principal.id: token:<issuer>#<sub>, key:<id> or anonymous. */
  principal: string;
  principalName: string;
  server: string | null;
  tool: string | null;
  /** What a management action was on when that is not a server (a key's id). */
  target: string | null;
  decision: AuditDecision;
  /** Why it was denied, when the deciding part said. */
  reason: string | null;
  /** HTTP status of the reply. */
  status: number;
  /** The reply went out to its end; false when the client left or the server went away. */
  completed: boolean;
  durationMs: number;
  requestId: string;
}

/** A stored record, as GET /api/v1/audit answers it (newest first). */
export interface AuditEntry extends Omit<AuditRecord, 'at'> {
  id: number;
  /** ISO-8601, millisecond precision. */
  at: string;
}

/** Where a page of newest-first records stopped: the next page starts strictly below it. */
export interface AuditCursor {
  at: number;
  id: number;
}

export interface AuditQuery {
  server?: string;
  /** A principal's id, or its name (a key's name). */
  principal?: string;
  action?: AuditAction;
  /** Inclusive lower bound (ms since epoch). */
  since?: number;
  /** Exclusive upper bound (ms since epoch). */
  until?: number;
  /** Default 100, at most 1000. */
  limit?: number;
  after?: AuditCursor;
}
