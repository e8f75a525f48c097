// One audit record per tools/call of a POST (a batch has one per call), made when the reply
// ended. What the gateway knows by then costs nothing more to record: the HTTP status, whether
// the reply went out to its end, how long it took. The reply body is not read for a JSON-RPC
// error: it is relayed unbuffered (an SSE stream may be long), and parsing it on the hot path
// would cost every call what only the audit wants.
import type { Principal } from '../auth/principal.ts';
import type { AuditLog } from './audit-log.ts';
import { TOOL_CALL_ACTION, type AuditDecision } from './audit-record.ts';
import { auditText } from './audit-text.ts';

/** What authorization decided about one call; undefined: it was let through. */
export interface ToolCallDecision {
  decision: AuditDecision;
  reason?: string;
}

export interface EndedToolCalls {
  slug: string;
  requestId: string;
  principal: Principal;
  /** The POST's requests and notifications (MessagePeek.calls). */
  calls: readonly { method: string; params: unknown }[];
  /** When the request arrived (ms since epoch). */
  at: number;
  durationMs: number;
  status: number;
  completed: boolean;
  /** The tool policy's verdicts, at the index of their call in `calls`, where it gave one. */
  verdicts?: readonly (ToolCallDecision | undefined)[];
}

export function recordToolCalls(audit: AuditLog, ended: EndedToolCalls): void {
  for (let index = 0; index < ended.calls.length; index++) {
    const call = ended.calls[index]!;
    if (call.method !== TOOL_CALL_ACTION) continue;
    const verdict = ended.verdicts?.[index];
    audit.record({
      at: ended.at,
      action: TOOL_CALL_ACTION,
      principal: auditText(ended.principal.id),
      principalName: auditText(ended.principal.name),
      server: ended.slug,
      tool: toolName(call.params),
      target: null,
      decision: verdict?.decision ?? 'allowed',
      reason: verdict?.reason === undefined ? null : auditText(verdict.reason),
      status: ended.status,
      completed: ended.completed,
      durationMs: ended.durationMs,
      requestId: ended.requestId,
    });
  }
}

function toolName(params: unknown): string | null {
  const name = (params as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? auditText(name) : null;
}
