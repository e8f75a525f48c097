// Every call the store makes has a deadline, and so has closing it. A database that stops
// answering (a hung PostgreSQL, a stopped embedded process, a network path that drops packets
// without a reset) otherwise holds its callers forever: the events API hangs, the writes a
// shutdown waits for never settle, and closing the pool waits for them — SIGTERM would never
// end the controller. Past its deadline a call fails with StoreTimeoutError (the writes are
// fire-and-forget: it is logged); past its own, close() gives up on the database and returns.
import type { Logger } from '../observability/log.ts';
import type { SqlDatabase, SqlExecutor } from './sql.ts';

/** Default bound on one statement. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;
/** Default bound on closing (PGlite flushing to disk, a pool ending its connections). */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

export interface StoreTimeouts {
  queryTimeoutMs: number;
  closeTimeoutMs: number;
}

/** The database did not answer a call in time. */
export class StoreTimeoutError extends Error {
  override name = 'StoreTimeoutError';
}

export function boundDatabase(
  db: SqlDatabase,
  timeouts: StoreTimeouts,
  logger: Logger | undefined,
): SqlDatabase {
  const { queryTimeoutMs, closeTimeoutMs } = timeouts;
  const what = db.description;
  const bounded = (executor: SqlExecutor): SqlExecutor => ({
    query: (sql, params) =>
      deadline(executor.query(sql, params), queryTimeoutMs, `${what}: no answer`),
    exec: (sql) => deadline(executor.exec(sql), queryTimeoutMs, `${what}: no answer`),
  });
  return {
    ...bounded(db),
    // Each statement of a transaction is bounded; so is the transaction by them.
    transaction: (fn) => db.transaction((tx) => fn(bounded(tx))),
    close: async () => {
      try {
        await deadline(db.close(), closeTimeoutMs, `${what} did not close`);
      } catch (err) {
        if (!(err instanceof StoreTimeoutError)) throw err;
        logger?.warn({ closeTimeoutMs }, `${err.message}; leaving it`);
      }
    },
    description: what,
  };
}

/** `work`, or a StoreTimeoutError saying `message` once `ms` passed. */
function deadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([work, timedOut]).finally(() => clearTimeout(timer));
}
