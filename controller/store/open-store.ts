// Opens the durable store: a real PostgreSQL when a URL is given, otherwise embedded PGlite
// in a child process of its own (embedded-database.ts).
// Migrations are applied before the store is returned, so callers can write at once.
import {
  boundDatabase,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_QUERY_TIMEOUT_MS,
} from './bounded-database.ts';
import { openEmbeddedDatabase } from './embedded-database.ts';
import { migrate } from './migrate.ts';
import { openPostgresDatabase } from './postgres-database.ts';
import type { SqlDatabase } from './sql.ts';
import { SqlStore } from './sql-store.ts';
import type { Store, StoreOptions } from './store.ts';

export const DEFAULT_DATA_DIR = '.mcpfleet/pgdata';

export async function openStore(options: StoreOptions = {}): Promise<Store> {
  const timeouts = {
    queryTimeoutMs: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
  };
  const opened: SqlDatabase = options.databaseUrl
    ? openPostgresDatabase({
        url: options.databaseUrl,
        schema: options.schema,
        connectTimeoutMs: options.connectTimeoutMs,
        queryTimeoutMs: timeouts.queryTimeoutMs,
        logger: options.logger,
      })
    : await openEmbeddedDatabase(options.dataDir ?? DEFAULT_DATA_DIR, {
        schema: options.schema,
        logger: options.logger,
        // After the database process crashed and was restarted: what store.migrate() does,
        // on the new process's session (the store's own calls wait for the restart). In
        // memory ("memory://") the data did not survive the crash, so this creates the
        // tables again, empty; on disk every committed write survived and it finds nothing
        // to do.
        onRestart: async (restarted) => {
          await migrate(restarted, { schema: options.schema });
        },
      });
  const db = boundDatabase(opened, timeouts, options.logger);
  const store = new SqlStore(db, {
    schema: options.schema,
    healthRetention: options.healthRetention,
  });
  try {
    if (options.databaseUrl) await probeConnection(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  try {
    await store.migrate();
  } catch (err) {
    await db.close().catch(() => undefined);
    throw new Error(`migrating ${db.description} failed: ${describeError(err)}`, { cause: err });
  }
  return store;
}

/** A first round trip, so an unreachable server says so instead of failing a migration. */
async function probeConnection(db: SqlDatabase): Promise<void> {
  try {
    await db.query('SELECT 1');
  } catch (err) {
    throw new Error(`cannot connect to PostgreSQL at ${db.description}: ${describeError(err)}`, {
      cause: err,
    });
  }
}

function describeError(err: unknown): string {
  // Connecting to a name with several addresses (localhost: ::1 and 127.0.0.1) fails with
  // an AggregateError whose own message is empty; the reasons are inside.
  if (err instanceof AggregateError && !err.message) {
    return [...new Set(err.errors.map(describeError))].join('; ');
  }
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}
