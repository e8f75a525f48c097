// A real PostgreSQL server (DATABASE_URL), through a pg connection pool.
import pg from 'pg';
import type { Logger } from '../observability/log.ts';
import { redactUrl } from './redact-url.ts';
import { assertSchemaName, type SqlDatabase, type SqlExecutor } from './sql.ts';

export interface PostgresOptions {
  url: string;
  schema?: string;
  /** Bound on opening a connection; default 5 s. */
  connectTimeoutMs?: number;
  /**
   * pg's own bound on a statement: past it the connection is given up, so the pool can end
   * (closing waits for every connection); default none.
   */
  queryTimeoutMs?: number;
  /** Pool size; default 5 (writes are small and off the request path). */
  maxConnections?: number;
  logger?: Logger;
}

export function openPostgresDatabase(options: PostgresOptions): SqlDatabase {
  assertPostgresUrl(options.url);
  if (options.schema !== undefined) assertSchemaName(options.schema);
  const pool = new pg.Pool({
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    max: options.maxConnections ?? 5,
    ...(options.queryTimeoutMs !== undefined ? { query_timeout: options.queryTimeoutMs } : {}),
    // Set at connection start, so every pooled connection sees the same schema.
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  const description = redactUrl(options.url);
  // An idle pooled connection that dies (server restart) emits 'error' on the pool; without
  // a listener that would crash the process. The pool replaces the connection by itself.
  pool.on('error', (err) =>
    options.logger?.warn({ err: err.message, url: description }, 'postgres connection lost'),
  );
  const db = new PostgresDatabase(pool, description);
  pool.on('connect', (client) => db.opened(client));
  return db;
}

class PostgresDatabase implements SqlDatabase {
  readonly #pool: pg.Pool;
  readonly description: string;
  /** Every connection the pool opened, so closing can cut those a hung server holds. */
  readonly #connections = new Set<pg.PoolClient>();
  #closed = false;

  constructor(pool: pg.Pool, description: string) {
    this.#pool = pool;
    this.description = description;
  }

  async query<Row>(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.#pool.query(sql, params)).rows as Row[];
  }

  async exec(sql: string): Promise<void> {
    // Without parameters pg uses the simple query protocol, which runs several statements.
    await this.#pool.query(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <Row>(sql: string, params: unknown[] = []) =>
          (await client.query(sql, params)).rows as Row[],
        exec: async (sql: string) => {
          await client.query(sql);
        },
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  opened(client: pg.PoolClient): void {
    this.#connections.add(client);
    client.once('end', () => this.#connections.delete(client));
  }

  /**
   * Ends the pool; its connections are then cut whatever state they are in: one ended
   * politely toward a server that no longer answers (half-closed, waiting for its reply)
   * would otherwise stay open for good. The caller bounds the wait (bounded-database.ts).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#pool.end();
    } finally {
      for (const client of this.#connections) client.connection.stream.destroy();
      this.#connections.clear();
    }
  }
}

function assertPostgresUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      `invalid database URL "${redactUrl(url)}": expected postgres://user@host:port/db`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(
      `invalid database URL "${redactUrl(url)}": the scheme must be postgres:// or postgresql://`,
    );
  }
}
