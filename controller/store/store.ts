// Store: durable state in PostgreSQL (PGlite when no DATABASE_URL is given).
// Events and status history. Writes happen off the request hot path: callers fire and
// log failures; they never make a client wait for the database.

import type { EventType, ServerState } from '../api/types.ts';
import type { AuditEntry, AuditQuery, AuditRecord } from '../audit/audit-record.ts';
import type { Role } from '../auth/principal.ts';
import type { Logger } from '../observability/log.ts';

/** One occurrence: a wake, a sleep, a health transition, a restart, a failure... */
export interface FleetEvent {
  id: number;
  server: string;
  /** One of EVENT_TYPES (api/types.ts); a string, as stored rows may predate a type. */
  type: string;
  /** ISO-8601 timestamp. */
  at: string;
  /** How long it took, where the event has a duration (a wake's event carries it). */
  durationMs: number | null;
  message: string | null;
  data: Record<string, unknown> | null;
}

export interface NewEvent {
  server: string;
  type: EventType;
  durationMs?: number;
  message?: string;
  data?: Record<string, unknown>;
  /** Defaults to now. */
  at?: Date;
}

export interface StatusChange {
  server: string;
  state: ServerState;
  reason: string | null;
  at: string;
}

export interface HealthResult {
  server: string;
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** A stored health result, newest first from Store.healthResults. */
export interface HealthRecord extends HealthResult {
  /** ISO-8601 timestamp. */
  at: string;
}

export interface EventQuery {
  server?: string;
  type?: string;
  /** Newest first; default 100, max 1000. */
  limit?: number;
  /**
   * Only events with a larger id, and then oldest first (by id): a follower's cursor, for
   * GET /api/v1/events?follow=true. The `limit` then takes the oldest ones.
   */
  afterId?: number;
}

/** A stored API key as the API shows it (GET /api/v1/keys): never its secret. */
export interface ApiKeyRecord {
  /** The public half of the key (mcpf_<id>_<secret>). */
  id: string;
  name: string;
  role: Role;
  /** Server slugs the key is limited to; null: any server. */
  servers: string[] | null;
  /** ISO-8601 timestamps; null where it never happened (or never will). */
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface NewApiKey {
  id: string;
  name: string;
  role: Role;
  servers: string[] | null;
  /** Hex HMAC-SHA256 of the secret under the key-hashing secret. */
  secretHmac: string;
  expiresAt: Date | null;
}

/** What verifying a key needs: its record and the HMAC to compare with. */
export interface StoredApiKey extends ApiKeyRecord {
  secretHmac: string;
}

export interface Store {
  /** Applies the plain SQL migrations in order; idempotent. Called once at start. */
  migrate(): Promise<void>;
  recordEvent(event: NewEvent): Promise<FleetEvent>;
  listEvents(query: EventQuery): Promise<FleetEvent[]>;
  recordStatus(server: string, state: ServerState, reason?: string): Promise<void>;
  /** Newest first; default 100, max 1000. */
  statusHistory(server: string, limit?: number): Promise<StatusChange[]>;
  recordHealth(result: HealthResult): Promise<void>;
  /** Newest first; only the newest results per server are kept (default 1000). */
  healthResults(server: string, limit?: number): Promise<HealthRecord[]>;
  /** Throws ApiKeyNameTakenError when a live key already has that name. */
  insertApiKey(key: NewApiKey): Promise<ApiKeyRecord>;
  /** Every key, revoked ones included, oldest first. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  findApiKey(id: string): Promise<StoredApiKey | undefined>;
  /** Marks it revoked (once: a second revoke keeps the first time); undefined if unknown. */
  revokeApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  touchApiKey(id: string, at: Date): Promise<void>;
  /** One multi-row INSERT (controller/audit/audit-writer.ts batches them). */
  insertAuditRecords(records: readonly AuditRecord[]): Promise<void>;
  /** Newest first (by time, then id); default 100, max 1000. */
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /**
   * Deletes up to `batch` records older than `before` (ms since epoch) and says how many;
   * undefined when another controller is deleting at the moment (an advisory lock).
   */
  deleteAuditBefore(before: number, batch: number): Promise<number | undefined>;
  close(): Promise<void>;
}

export class ApiKeyNameTakenError extends Error {
  constructor(name: string) {
    super(`a live key is already named "${name}"; revoke it first or pick another name`);
    this.name = 'ApiKeyNameTakenError';
  }
}

export interface StoreOptions {
  /** postgres://... for a real server; absent → embedded PGlite under dataDir. */
  databaseUrl?: string;
  /** Where PGlite keeps its files (default .mcpfleet/pgdata); "memory://" for tests. */
  dataDir?: string;
  /** PostgreSQL schema to use (search_path), created if missing; tests isolate with it. */
  schema?: string;
  /** Health results kept per server, newest first; default 1000. */
  healthRetention?: number;
  /** Bound on connecting to PostgreSQL; default 5 s. */
  connectTimeoutMs?: number;
  /** Bound on every statement: a database that stops answering fails the call; default 10 s. */
  queryTimeoutMs?: number;
  /** Bound on close(): past it the database is left as it is; default 10 s. */
  closeTimeoutMs?: number;
  /** Where connection trouble after start is reported. */
  logger?: Logger;
}
