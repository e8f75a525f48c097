// The Store over SQL: one implementation for both PGlite and PostgreSQL (see sql.ts).
import type { ServerState } from '../api/types.ts';
import type { AuditEntry, AuditQuery, AuditRecord } from '../audit/audit-record.ts';
import * as apiKeyRows from './api-key-rows.ts';
import * as auditRows from './audit-rows.ts';
import { migrate } from './migrate.ts';
import type { SqlDatabase } from './sql.ts';
import type {
  ApiKeyRecord,
  EventQuery,
  FleetEvent,
  HealthRecord,
  HealthResult,
  NewApiKey,
  NewEvent,
  StatusChange,
  Store,
  StoredApiKey,
} from './store.ts';

export interface SqlStoreOptions {
  schema?: string;
  /** Health results kept per server (newest); default 1000. */
  healthRetention?: number;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

interface EventRow {
  id: number | string;
  server: string;
  type: string;
  at: Date;
  duration_ms: number | null;
  message: string | null;
  data: Record<string, unknown> | null;
}

export class SqlStore implements Store {
  readonly #db: SqlDatabase;
  readonly #schema: string | undefined;
  readonly #healthRetention: number;
  /** Inserts per server since its last prune: pruning every time would double the writes. */
  readonly #healthInsertsSincePrune = new Map<string, number>();

  constructor(db: SqlDatabase, options: SqlStoreOptions = {}) {
    this.#db = db;
    this.#schema = options.schema;
    this.#healthRetention = options.healthRetention ?? 1000;
  }

  get description(): string {
    return this.#db.description;
  }

  async migrate(): Promise<void> {
    await migrate(this.#db, { schema: this.#schema });
  }

  /** Versions recorded in schema_migrations, in order (for diagnostics and tests). */
  async appliedMigrations(): Promise<string[]> {
    const rows = await this.#db.query<{ version: string }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    return rows.map((row) => row.version);
  }

  async recordEvent(event: NewEvent): Promise<FleetEvent> {
    const [row] = await this.#db.query<EventRow>(
      `INSERT INTO events (server, type, at, duration_ms, message, data)
       VALUES ($1, $2, COALESCE($3, now()), $4, $5, $6)
       RETURNING id, server, type, at, duration_ms, message, data`,
      [
        event.server,
        event.type,
        event.at ?? null,
        event.durationMs ?? null,
        event.message ?? null,
        event.data === undefined ? null : JSON.stringify(event.data),
      ],
    );
    return toFleetEvent(row!);
  }

  async listEvents(query: EventQuery = {}): Promise<FleetEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.server !== undefined) {
      params.push(query.server);
      where.push(`server = $${params.length}`);
    }
    if (query.type !== undefined) {
      params.push(query.type);
      where.push(`type = $${params.length}`);
    }
    if (query.afterId !== undefined) {
      params.push(query.afterId);
      where.push(`id > $${params.length}`);
    }
    params.push(clampLimit(query.limit));
    const rows = await this.#db.query<EventRow>(
      `SELECT id, server, type, at, duration_ms, message, data FROM events
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${query.afterId !== undefined ? 'id ASC' : 'at DESC, id DESC'}
       LIMIT $${params.length}`,
      params,
    );
    return rows.map(toFleetEvent);
  }

  async recordStatus(server: string, state: ServerState, reason?: string): Promise<void> {
    await this.#db.query('INSERT INTO status_history (server, state, reason) VALUES ($1, $2, $3)', [
      server,
      state,
      reason ?? null,
    ]);
  }

  async statusHistory(server: string, limit?: number): Promise<StatusChange[]> {
    const rows = await this.#db.query<{
      server: string;
      state: ServerState;
      reason: string | null;
      at: Date;
    }>(
      `SELECT server, state, reason, at FROM status_history WHERE server = $1
       ORDER BY at DESC, id DESC LIMIT $2`,
      [server, clampLimit(limit)],
    );
    return rows.map((row) => ({ ...row, at: toIso(row.at) }));
  }

  async recordHealth(result: HealthResult): Promise<void> {
    await this.#db.query(
      'INSERT INTO health_results (server, ok, latency_ms, error) VALUES ($1, $2, $3, $4)',
      [result.server, result.ok, result.latencyMs, result.error ?? null],
    );
    const inserts = (this.#healthInsertsSincePrune.get(result.server) ?? 0) + 1;
    // Prune once per tenth of the retention: the table stays within 110% of it per server.
    if (inserts >= Math.max(1, Math.ceil(this.#healthRetention / 10))) {
      this.#healthInsertsSincePrune.set(result.server, 0);
      await this.#pruneHealth(result.server);
    } else {
      this.#healthInsertsSincePrune.set(result.server, inserts);
    }
  }

  async healthResults(server: string, limit?: number): Promise<HealthRecord[]> {
    const rows = await this.#db.query<{
      server: string;
      ok: boolean;
      latency_ms: number;
      error: string | null;
      at: Date;
    }>(
      `SELECT server, ok, latency_ms, error, at FROM health_results WHERE server = $1
       ORDER BY id DESC LIMIT $2`,
      [server, clampLimit(limit)],
    );
    return rows.map((row) => ({
      server: row.server,
      ok: row.ok,
      latencyMs: row.latency_ms,
      ...(row.error !== null ? { error: row.error } : {}),
      at: toIso(row.at),
    }));
  }

  insertApiKey(key: NewApiKey): Promise<ApiKeyRecord> {
    return apiKeyRows.insertApiKey(this.#db, key);
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return apiKeyRows.listApiKeys(this.#db);
  }

  findApiKey(id: string): Promise<StoredApiKey | undefined> {
    return apiKeyRows.findApiKey(this.#db, id);
  }

  revokeApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return apiKeyRows.revokeApiKey(this.#db, id);
  }

  touchApiKey(id: string, at: Date): Promise<void> {
    return apiKeyRows.touchApiKey(this.#db, id, at);
  }

  insertAuditRecords(records: readonly AuditRecord[]): Promise<void> {
    return auditRows.insertAuditRecords(this.#db, records);
  }

  listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return auditRows.listAudit(this.#db, query);
  }

  deleteAuditBefore(before: number, batch: number): Promise<number | undefined> {
    return auditRows.deleteAuditBefore(this.#db, before, batch);
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  async #pruneHealth(server: string): Promise<void> {
    await this.#db.query(
      `DELETE FROM health_results WHERE server = $1 AND id <= (
         SELECT id FROM health_results WHERE server = $1 ORDER BY id DESC OFFSET $2 LIMIT 1
       )`,
      [server, this.#healthRetention],
    );
  }
}

/** Newest-first reads: default 100, at most 1000; a nonsensical limit is a caller bug. */
function clampLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  return Math.min(limit, MAX_LIMIT);
}

function toFleetEvent(row: EventRow): FleetEvent {
  return {
    // bigserial: pg returns int8 as a string, PGlite as a number.
    id: Number(row.id),
    server: row.server,
    type: row.type,
    at: toIso(row.at),
    durationMs: row.duration_ms,
    message: row.message,
    data: row.data,
  };
}

function toIso(at: Date | string): string {
  return (at instanceof Date ? at : new Date(at)).toISOString();
}
