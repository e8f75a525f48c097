// Parses GET /api/v1/audit's query (server, principal, action, since, until, limit, cursor), or
// says which parameter is wrong and how (the API answers 400 with that message).
import { parseDays } from '../audit/audit-duration.ts';
import {
  AUDIT_ACTIONS,
  type AuditAction,
  type AuditCursor,
  type AuditEntry,
  type AuditQuery,
} from '../audit/audit-record.ts';
import { count, SLUG, unknownParameter, type Parsed } from './query.ts';

export const MAX_AUDIT_LIMIT = 1000;
const MAX_PRINCIPAL_CHARS = 512;
const ACTIONS: ReadonlySet<string> = new Set(AUDIT_ACTIONS);
const PARAMETERS = ['server', 'principal', 'action', 'since', 'until', 'limit', 'cursor'];

export function parseAuditQuery(
  params: URLSearchParams,
  now: number = Date.now(),
): Parsed<{ query: AuditQuery }> {
  const fail = (message: string) => ({ ok: false as const, message });
  const unknown = unknownParameter(params, PARAMETERS);
  if (unknown) return fail(unknown);
  const query: AuditQuery = {};
  const server = given(params, 'server');
  if (server !== undefined) {
    if (!SLUG.test(server)) return fail(`"server" is not a server slug: ${quote(server)}`);
    query.server = server;
  }
  const principal = given(params, 'principal');
  if (principal !== undefined) {
    if (principal.length > MAX_PRINCIPAL_CHARS)
      return fail(`"principal" is longer than ${MAX_PRINCIPAL_CHARS} characters`);
    query.principal = principal;
  }
  const action = given(params, 'action');
  if (action !== undefined) {
    if (!ACTIONS.has(action))
      return fail(`"action" ${quote(action)} is not one of: ${AUDIT_ACTIONS.join(', ')}`);
    query.action = action as AuditAction;
  }
  for (const name of ['since', 'until'] as const) {
    const text = given(params, name);
    if (text === undefined) continue;
    const at = timeOf(text, now);
    if (at === undefined)
      return fail(
        `"${name}" must be an ISO-8601 time (2026-01-31T12:00:00Z) or a duration ago ` +
          `(30m, 12h, 7d), got ${quote(text)}`,
      );
    query[name] = at;
  }
  if (query.since !== undefined && query.until !== undefined && query.since >= query.until)
    return fail('"since" must be before "until"');
  const limit = count(params, 'limit', MAX_AUDIT_LIMIT);
  if (typeof limit === 'string') return fail(limit);
  if (limit !== undefined) query.limit = limit;
  const cursor = given(params, 'cursor');
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
    if (!after) return fail(`"cursor" is not one this API gave (use the "next" of a page)`);
    query.after = after;
  }
  return { ok: true, query };
}

/** The cursor of the page after the one ending with `last`. */
export function encodeCursor(last: Pick<AuditEntry, 'at' | 'id'>): string {
  return Buffer.from(`${Date.parse(last.at)}:${last.id}`).toString('base64url');
}

function decodeCursor(text: string): AuditCursor | undefined {
  const match = /^(\d{1,16}):(\d{1,19})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const cursor = { at: Number(match[1]), id: Number(match[2]) };
  return Number.isSafeInteger(cursor.id) ? cursor : undefined;
}

/** An ISO-8601 time, or a duration before `now`. */
function timeOf(text: string, now: number): number | undefined {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    return Number.isNaN(at) ? undefined : at;
  }
  try {
    return now - parseDays(text);
  } catch {
    return undefined;
  }
}

function given(params: URLSearchParams, name: string): string | undefined {
  const value = params.get(name);
  return value === null || value === '' ? undefined : value;
}

function quote(text: string): string {
  return JSON.stringify(text.slice(0, 64));
}
