// What the gateway keeps of a client's session so it can outlive its backend: the backend
// session it is bound to now, and the client's own words that made the session what it is —
// its initialize params, its log level, its resource subscriptions — so a new backend can be
// brought to the same point (session-replay.ts). Stored as JSON in the coordination store
// (any controller replica resumes any session) under the server's slug: bound to its server.
import { randomBytes } from 'node:crypto';

export interface BackendBinding {
  /** The replica/pod the backend session lives on (fleet backend id). */
  replicaId: string;
  /** The backend's MCP-Session-Id; '' for a backend that minted none (stateless). */
  sessionId: string;
}

export interface SessionRecord {
  v: 1;
  /** The live backend session behind the client's, if any. */
  backend?: BackendBinding;
  /** The client's initialize params, replayed verbatim. */
  initialize: Record<string, unknown>;
  /** The protocol version the backend chose at the first initialize (sent on replays). */
  protocolVersion?: string;
  /** Set by `logging/setLevel`. */
  logLevel?: string;
  /** URIs of `resources/subscribe` not unsubscribed since. */
  subscriptions: string[];
  /**
   * 'modern': the server speaks only revision 2026-07-28 and the gateway translates this
   * 2025 client's session for it (eras/); there is no backend session to replay then.
   */
  backendEra?: 'modern';
  /** Who opened it (sessions/client-key.ts): the per-client limit counts it for them. */
  client?: string;
  /**
   * The authenticated principal that opened it (absent: anonymous). Only it may use the
   * session; to anyone else the id is unknown (the record is under its server's slug, so the
   * id means nothing on another server either).
   */
  principal?: string;
  /**
   * When a request (not a ping) last used it, through any controller replica, to within a
   * quarter of the idle timeout: a replica ends a session for idleness only if this is old too.
   */
  activeAt?: number;
}

/** Whether `principal` (undefined: anonymous) may use the session `record`. */
export function ownsSession(record: SessionRecord, principal: string | undefined): boolean {
  return record.principal === principal;
}

/** 192 random bits, URL-safe: unguessable, and visible ASCII as the spec requires. */
export function mintSessionId(): string {
  return randomBytes(24).toString('base64url');
}

export function encodeRecord(record: SessionRecord): string {
  return JSON.stringify(record);
}

/** undefined for anything that is not a record of this version (a stale or foreign value). */
export function decodeRecord(value: string | undefined): SessionRecord | undefined {
  if (value === undefined || !value.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<SessionRecord>;
    if (parsed.v !== 1 || typeof parsed.initialize !== 'object' || parsed.initialize === null)
      return undefined;
    return { ...parsed, subscriptions: parsed.subscriptions ?? [] } as SessionRecord;
  } catch {
    return undefined;
  }
}

/** A request or notification a client sent, as the gateway's peek saw it. */
export interface ClientCall {
  method: string;
  params: unknown;
}

const REPLAYED_METHODS = new Set([
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
]);

/** Whether any of the calls changes what a replay restores (most calls do not). */
export function changesReplay(calls: readonly ClientCall[]): boolean {
  return calls.some((call) => REPLAYED_METHODS.has(call.method));
}

/**
 * The record after the client's calls took effect (they were answered 2xx), or undefined
 * when none of them changes what a replay must restore.
 */
export function afterCalls(
  record: SessionRecord,
  calls: readonly ClientCall[],
): SessionRecord | undefined {
  let next: SessionRecord | undefined;
  const edit = (): SessionRecord =>
    (next ??= { ...record, subscriptions: [...record.subscriptions] });
  for (const { method, params } of calls) {
    const p = (params ?? {}) as { level?: unknown; uri?: unknown };
    if (method === 'logging/setLevel' && typeof p.level === 'string') edit().logLevel = p.level;
    else if (method === 'resources/subscribe' && typeof p.uri === 'string') {
      if (!(next ?? record).subscriptions.includes(p.uri)) edit().subscriptions.push(p.uri);
    } else if (method === 'resources/unsubscribe' && typeof p.uri === 'string') {
      if ((next ?? record).subscriptions.includes(p.uri)) {
        const r = edit();
        r.subscriptions = r.subscriptions.filter((uri) => uri !== p.uri);
      }
    }
  }
  return next;
}
