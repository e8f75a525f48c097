// PGlite in this process, adapted to SqlDatabase: for tests that share one instance across
// many stores. The controller runs its embedded database in a child process instead
// (embedded-database.ts), so the database's memory is not the controller's.
import type { PGlite } from '@electric-sql/pglite';
import { assertSchemaName, type SqlDatabase, type SqlExecutor } from './sql.ts';

export interface UsePGliteOptions {
  schema?: string;
  description?: string;
}

/** Adapts an already open PGlite instance; its owner closes it (close() here does not). */
export async function usePGlite(db: PGlite, options: UsePGliteOptions = {}): Promise<SqlDatabase> {
  const { schema } = options;
  if (schema !== undefined) {
    assertSchemaName(schema);
    // PGlite is a single connection, so a session-level search_path holds for every query.
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
  }
  return new PGliteDatabase(db, options.description ?? 'embedded PostgreSQL');
}

class PGliteDatabase implements SqlDatabase {
  readonly #db: PGlite;
  readonly description: string;

  constructor(db: PGlite, description: string) {
    this.#db = db;
    this.description = description;
  }

  async query<Row>(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.#db.query<Row>(sql, params)).rows;
  }

  async exec(sql: string): Promise<void> {
    await this.#db.exec(sql);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#db.transaction((tx) =>
      fn({
        query: async <Row>(sql: string, params: unknown[] = []) =>
          (await tx.query<Row>(sql, params)).rows,
        exec: async (sql: string) => {
          await tx.exec(sql);
        },
      }),
    );
  }

  async close(): Promise<void> {
    // The instance is shared; whoever created it closes it.
  }
}
