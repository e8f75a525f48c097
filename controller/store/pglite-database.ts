// Embedded PostgreSQL (PGlite, WebAssembly): the default when no DATABASE_URL is given.
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { assertSchemaName, type SqlDatabase, type SqlExecutor } from './sql.ts';

/** Opens (creating if needed) the embedded database under dataDir, or in memory ("memory://"). */
export async function openPGliteDatabase(dataDir: string, schema?: string): Promise<SqlDatabase> {
  if (schema !== undefined) assertSchemaName(schema);
  const inMemory = dataDir.startsWith('memory://');
  let db: PGlite;
  try {
    if (!inMemory) await mkdir(dataDir, { recursive: true });
    db = await PGlite.create(dataDir);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot open the embedded database under "${dataDir}": ${reason}`, {
      cause: err,
    });
  }
  return usePGlite(db, {
    schema,
    description: inMemory ? dataDir : `embedded PostgreSQL under ${dataDir}`,
    ownsDb: true,
  });
}

export interface UsePGliteOptions {
  schema?: string;
  description?: string;
  /** Whether close() closes the PGlite instance too (false: the caller shares it). */
  ownsDb?: boolean;
}

/** Adapts an already open PGlite instance (embedding, or tests sharing one instance). */
export async function usePGlite(db: PGlite, options: UsePGliteOptions = {}): Promise<SqlDatabase> {
  const { schema } = options;
  if (schema !== undefined) {
    assertSchemaName(schema);
    // PGlite is a single connection, so a session-level search_path holds for every query.
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
  }
  return new PGliteDatabase(
    db,
    options.description ?? 'embedded PostgreSQL',
    options.ownsDb ?? false,
  );
}

class PGliteDatabase implements SqlDatabase {
  readonly #db: PGlite;
  readonly #ownsDb: boolean;
  readonly description: string;

  constructor(db: PGlite, description: string, ownsDb: boolean) {
    this.#db = db;
    this.description = description;
    this.#ownsDb = ownsDb;
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
    if (this.#ownsDb && !this.#db.closed) await this.#db.close();
  }
}
