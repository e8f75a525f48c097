// JSON shapes of the management API (/api/v1). The CLI and tests read these; the API
// serves them. Change them here and both sides follow.
import type { AuditEntry } from '../audit/audit-record.ts';
import type { ApiKeyRecord } from '../store/store.ts';

export const SERVER_STATES = [
  'asleep',
  'waking',
  'ready',
  'draining',
  'unhealthy',
  'failed',
  'unavailable',
] as const;
export type ServerState = (typeof SERVER_STATES)[number];

/** GET /api/v1/servers/<slug>, and each item of GET /api/v1/servers → { servers: [...] } */
export interface ServerStatus {
  slug: string;
  name: string;
  title: string;
  kind: 'workload' | 'remote';
  state: ServerState;
  /** Running replicas (local runtime: live backends/children). */
  replicas: number;
  sessions: number;
  inFlight: number;
  /** ISO-8601 or null if never used. */
  lastActivity: string | null;
  lastWakeDurationMs: number | null;
  lastError: string | null;
  /**
   * Why a server that still serves is marked unhealthy, while it lasts: "log flood: ..." when
   * its processes print more than the log rate limit. Null when nothing is wrong.
   */
  healthMark: string | null;
  /**
   * Present when the server's processes listen beyond loopback, where anyone who reaches the
   * machine reaches them past the gateway: the runtime could not confine it ("not confined:
   * listens on [::]:41234, ..."). Local runtime only.
   */
  exposure?: string;
  /** Effective idle timeout after --idle-timeout overrides. */
  idleTimeoutMs: number;
  minReplicas: number;
  maxReplicas: number;
  /** The MCP endpoint path, /servers/<slug>/mcp */
  endpoint: string;
}

/** Every kind of event the fleet records (GET /api/v1/events?type=, `mcpfleet events --type`). */
export const EVENT_TYPES = [
  'wake',
  'wake-failed',
  'wake-timeout',
  'drain',
  'drain-cancelled',
  'sleep',
  'health',
  'crash',
  'unhealthy',
  'restart',
  'failed',
  'reset',
  'scale',
  'session-resumed',
  'session-expired',
  'shutdown',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * GET /api/v1/keys → { keys: ApiKeyRecord[] } (admin; never a secret); DELETE
 * /api/v1/keys/<id> → the revoked ApiKeyRecord.
 */
export type { ApiKeyRecord } from '../store/store.ts';

/** POST /api/v1/keys { name, role, servers?, expiresAt? } → 201: the key, shown this once. */
export interface CreatedApiKey extends ApiKeyRecord {
  /** mcpf_<id>_<secret>: the whole credential; the controller keeps only an HMAC of it. */
  key: string;
}

/** GET /api/v1/events?server=<slug>&type=&limit= → { events: FleetEvent[] } (newest first) */
export type { FleetEvent } from '../store/store.ts';

/**
 * One line of a server's log: GET /api/v1/servers/<slug>/logs?lines=N → { lines: [...] }
 * (oldest first); with ?follow=true an SSE stream of `log` events, one line each, the tail
 * first. Kept in the controller's memory (the last 1000 per server), not in the store.
 */
export interface ServerLogLine {
  /** ISO-8601. */
  time: string;
  /** The pino level: trace, debug, info, warn, error, fatal (a process's output is info). */
  level: string;
  /** The server's own process wrote it (stdout, stderr), or the controller said it about it. */
  source: 'stdout' | 'stderr' | 'controller';
  /** The replica whose process it was or that it is about, when there is one. */
  replica: string | null;
  message: string;
  /** A controller line's other fields (event, durationMs, err as its message...); {} for output. */
  fields: Record<string, unknown>;
}

/**
 * GET /api/v1/audit?server=&principal=&action=&since=&until=&limit=&cursor= (operator):
 * newest first; `next` is the `cursor` of the following page, null on the last.
 */
export interface AuditPage {
  records: AuditEntry[];
  next: string | null;
}
export type { AuditEntry } from '../audit/audit-record.ts';

/** Any API error: { error: { code, message } } with the matching HTTP status. */
export interface ApiError {
  error: { code: string; message: string };
}

/** GET /api/v1/registry: where the servers come from, and how its last change went. */
export interface RegistryStatusView {
  /** The directory (or "(in-memory specs)"). */
  location: string;
  format: 'server-json' | 'shards' | 'static';
  servers: number;
  /** The last change seen while running; null until one happens. */
  lastChange: {
    at: string;
    /** rejected: the previous servers are still served; `problems` say why. */
    outcome: 'applied' | 'rejected';
    problems: string[];
  } | null;
}
