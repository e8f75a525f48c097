// Plain SQL migrations (migrations/NNN_name.sql), applied in order, each once, recorded in
// schema_migrations. Safe when several controllers start at once against one PostgreSQL:
// everything runs in one transaction that first takes an advisory lock, so the second
// controller waits, then finds the work done.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { SqlDatabase } from './sql.ts';

export interface Migration {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** Reads the migration files, ordered by version. */
export async function loadMigrations(dir: URL | string = MIGRATIONS_DIR): Promise<Migration[]> {
  const base = dir instanceof URL ? dir : pathToFileURL(dir.endsWith('/') ? dir : `${dir}/`);
  const files = (await readdir(base)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (!match) throw new Error(`migration file "${file}" must be named NNN_name.sql`);
    const [, version, name] = match as unknown as [string, string, string];
    if (migrations.some((m) => m.version === version)) {
      throw new Error(`two migration files share version ${version}`);
    }
    const sql = await readFile(new URL(file, base), 'utf8');
    migrations.push({ version, name, sql, checksum: sha256(sql) });
  }
  return migrations;
}

export interface MigrateOptions {
  /** The schema being migrated (search_path); names the advisory lock. */
  schema?: string;
  migrations?: Migration[];
}

/** Applies the pending migrations; returns the versions applied by this call. */
export async function migrate(db: SqlDatabase, options: MigrateOptions = {}): Promise<string[]> {
  const migrations = options.migrations ?? (await loadMigrations());
  const lockName = `mcpfleet:migrate:${options.schema ?? 'default'}`;
  return db.transaction(async (tx) => {
    // Held until commit: a concurrent migrate() blocks here, then sees our rows.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockName]);
    if (options.schema !== undefined)
      await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    text PRIMARY KEY,
        name       text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const applied = new Map(
      (
        await tx.query<{ version: string; name: string; checksum: string }>(
          'SELECT version, name, checksum FROM schema_migrations',
        )
      ).map((row) => [row.version, row]),
    );
    const done: string[] = [];
    for (const migration of migrations) {
      const previous = applied.get(migration.version);
      if (previous) {
        // An edited migration would leave databases that differ depending on when they
        // were created; new changes belong in a new file.
        if (previous.checksum !== migration.checksum) {
          throw new Error(
            `migration ${migration.version}_${migration.name} changed after it was applied ` +
              `to ${db.description}; add a new migration file instead of editing it`,
          );
        }
        continue;
      }
      await tx.exec(migration.sql);
      await tx.query(
        'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
        [migration.version, migration.name, migration.checksum],
      );
      done.push(migration.version);
    }
    return done;
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
