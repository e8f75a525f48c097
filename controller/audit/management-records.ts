// One audit record per management action (what changes the fleet or who may use it: wake,
// sleep, keys create and revoke), refused ones included, made when the reply ended. Reads
// (status, events, logs, the audit log itself) are not recorded: they change nothing, and
// recording them would let a dashboard's polling crowd out what matters.
import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.ts';
import type { AuditLog } from './audit-log.ts';
import type { ManagementAction } from './audit-record.ts';
import { auditText } from './audit-text.ts';

/** The action a request to /api/v1/<parts> is, or undefined when it is a read (or no route). */
export function managementAction(
  parts: readonly string[],
  method: string,
): ManagementAction | undefined {
  if (parts[0] === 'keys') {
    if (parts.length === 1 && method === 'POST') return 'keys.create';
    if (parts.length === 2 && method === 'DELETE') return 'keys.revoke';
    return undefined;
  }
  if (parts.length === 3 && parts[0] === 'servers' && method === 'POST') {
    if (parts[2] === 'wake' || parts[2] === 'sleep') return parts[2];
  }
  return undefined;
}

/** What the route learns on the way that belongs in the record. */
export interface ManagementNote {
  /** The role check (or another) refused it. */
  denied(reason: string): void;
  /** What it acted on, when that is not a server: a key's id. */
  target(id: string): void;
}

/** Records `action` when `res` ends; the note fills in what only the route knows. */
export function auditManagement(
  audit: AuditLog,
  res: ServerResponse,
  principal: Principal,
  action: ManagementAction,
  server: string | undefined,
  target?: string,
): ManagementNote {
  const at = Date.now();
  const started = performance.now();
  let reason: string | null = null;
  let on = target === undefined ? null : auditText(target);
  res.once('close', () => {
    const requestId = res.getHeader('x-request-id');
    audit.record({
      at,
      action,
      principal: auditText(principal.id),
      principalName: auditText(principal.name),
      server: server === undefined ? null : auditText(server),
      tool: null,
      target: on,
      decision: reason === null ? 'allowed' : 'denied',
      reason,
      status: res.statusCode,
      completed: res.writableFinished,
      durationMs: performance.now() - started,
      requestId: typeof requestId === 'string' ? requestId : '',
    });
  });
  return {
    denied: (why) => (reason = auditText(why)),
    target: (id) => (on = auditText(id)),
  };
}
