// Embedded PostgreSQL (PGlite) in a child process of its own: the default when no
// DATABASE_URL is given. The controller keeps only this thin client, so its own memory
// stays small, the database's is measured apart, and a database crash fails the calls it
// was answering (with a clear error) instead of taking the gateway down. The process is
// then restarted (restart-policy.ts): later calls wait for it and run as usual. The child
// exits by itself when the controller dies, so it is never left behind.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/log.ts';
import {
  EmbeddedChild,
  describeExit,
  exited,
  report,
  startEmbeddedProcess,
  type ChildExit,
} from './embedded-database-child.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.ts';
import { assertSchemaName, type SqlDatabase, type SqlExecutor } from './sql.ts';

export interface EmbeddedDatabaseOptions {
  schema?: string;
  /** Where the child's output, its unexpected exits and its restarts are reported; default stderr. */
  logger?: Logger;
  /**
   * Bound on opening (a first run also creates the data directory), default 60 s; also on
   * how long a call waits for the process to be restarted after a crash.
   */
  startTimeoutMs?: number;
  /** How long close() waits for the child to flush and exit before killing it; default 10 s. */
  closeGraceMs?: number;
  /**
   * Runs on a restarted process (the previous one died unexpectedly), after the schema's
   * search_path is set again and before any waiting call: open-store.ts applies the
   * migrations there. In memory ("memory://") the data died with the process, so this is
   * what makes the tables exist again (empty); on disk every committed write survived.
   * `db` is that process's session; the database's own calls would wait for the restart.
   */
  onRestart?: (db: SqlDatabase) => Promise<void>;
  /** Backoff between restarts and when a crash loop gives up; the defaults suit production. */
  restartPolicy?: RestartPolicyOptions;
}

/** A SqlDatabase whose PGlite runs in the child process `pid` (another after a restart). */
export interface EmbeddedDatabase extends SqlDatabase {
  readonly pid: number;
}

/** Opens (creating if needed) the embedded database under dataDir, or in memory ("memory://"). */
export async function openEmbeddedDatabase(
  dataDir: string,
  options: EmbeddedDatabaseOptions = {},
): Promise<EmbeddedDatabase> {
  const { schema, logger } = options;
  if (schema !== undefined) assertSchemaName(schema);
  const inMemory = dataDir.startsWith('memory://');
  const location = inMemory ? dataDir : resolve(dataDir);
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  let unlock: (() => Promise<void>) | undefined;
  let child: ChildProcess;
  try {
    // Before anything touches the files: a second controller on them stops here.
    if (!inMemory) unlock = await lockDataDir(location, { logger });
    // A fresh data directory is created (initdb) by a process that exits right after:
    // initdb's peak (~600 MB RSS) would otherwise stay with the serving process for good.
    if (!inMemory && !existsSync(join(location, 'PG_VERSION'))) {
      logger?.info(
        { dataDir: location },
        'first start: creating the embedded database (PGlite) here; this takes about 10 s, once',
      );
      const init = await startEmbeddedProcess(location, 'init', {
        logger,
        timeoutMs: startTimeoutMs,
      });
      await exited(init); // at once: it has closed the database and is on its way out
    }
    child = await startEmbeddedProcess(location, 'serve', { logger, timeoutMs: startTimeoutMs });
  } catch (err) {
    await unlock?.();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot open the embedded database under "${dataDir}": ${reason}`, {
      cause: err,
    });
  }
  const db = new ChildProcessDatabase(location, {
    ...options,
    description: inMemory ? dataDir : `embedded PostgreSQL under ${dataDir}`,
    startTimeoutMs,
    ...(unlock ? { unlock } : {}),
  });
  try {
    await db.serve(child);
  } catch (err) {
    await unlock?.();
    throw err;
  }
  return db;
}

/** Runs fn between BEGIN and COMMIT on one process: if that process dies, it fails whole. */
async function inTransaction<T>(
  session: SqlExecutor,
  fn: (tx: SqlExecutor) => Promise<T>,
): Promise<T> {
  try {
    await session.exec('BEGIN');
    const result = await fn(session);
    await session.exec('COMMIT');
    return result;
  } catch (err) {
    await session.exec('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** One process's session as a SqlDatabase, for onRestart; closing it is not the hook's job. */
function sessionOf(child: EmbeddedChild, description: string): SqlDatabase {
  return {
    query: (sql, params) => child.query(sql, params),
    exec: (sql) => child.exec(sql),
    transaction: (fn) => inTransaction(child, fn),
    close: async () => {},
    description,
  };
}

interface ChildProcessDatabaseOptions extends EmbeddedDatabaseOptions {
  description: string;
  startTimeoutMs: number;
  /** Releases the data directory's lock, once the last process is gone. */
  unlock?: () => Promise<void>;
}

/** Why the last process went (or a restart failed): for the log, and for giving up. */
interface ExitReason {
  /** The log line's start. */
  message: string;
  fields: Record<string, unknown>;
  /** For the error once restarts are given up, e.g. "process 123 was killed by SIGKILL". */
  short: string;
}

class ChildProcessDatabase implements EmbeddedDatabase {
  readonly description: string;
  readonly #location: string;
  readonly #schema: string | undefined;
  readonly #logger: Logger | undefined;
  readonly #startTimeoutMs: number;
  readonly #closeGraceMs: number;
  readonly #onRestart: ((db: SqlDatabase) => Promise<void>) | undefined;
  readonly #unlock: (() => Promise<void>) | undefined;
  readonly #policy: RestartPolicy;
  /** Aborted by close(): a pending restart stops (its backoff ends, a starting process is killed). */
  readonly #stopRestarts = new AbortController();
  /** The process answering calls; while #restarting, the one that died. */
  #child!: EmbeddedChild;
  /** Set while a dead process is being replaced: calls wait for it (bounded). Never rejects. */
  #restarting: Promise<void> | undefined;
  /** Closed, or restarts given up: every later call rejects with it at once. */
  #unusable: Error | undefined;
  #closing: Promise<void> | undefined;
  /** The running transaction's end; ordinary calls wait for it (one session). */
  #transaction: Promise<void> | undefined;
  /** The last transaction queued: the next one starts after it. */
  #lastTransaction: Promise<void> = Promise.resolve();

  constructor(location: string, options: ChildProcessDatabaseOptions) {
    this.#location = location;
    this.description = options.description;
    this.#schema = options.schema;
    this.#logger = options.logger;
    this.#startTimeoutMs = options.startTimeoutMs;
    this.#closeGraceMs = options.closeGraceMs ?? 10_000;
    this.#onRestart = options.onRestart;
    this.#unlock = options.unlock;
    this.#policy = new RestartPolicy(options.restartPolicy);
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Takes the first process (started by openEmbeddedDatabase) into service. */
  async serve(child: ChildProcess): Promise<void> {
    this.#child = await this.#prepare(child, false);
  }

  async query<Row>(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.#inTurn((child) => child.query<Row>(sql, params));
  }

  async exec(sql: string): Promise<void> {
    await this.#inTurn((child) => child.exec(sql));
  }

  /**
   * PGlite is one session, so a transaction owns it: calls made meanwhile (outside tx)
   * wait until it ends. Calling this.query inside fn instead of tx.query would deadlock.
   */
  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const previous = this.#lastTransaction;
    let end!: () => void;
    const ended = new Promise<void>((resolveEnd) => (end = resolveEnd));
    this.#lastTransaction = ended;
    try {
      await previous;
      const child = await this.#inTurn(async (serving) => {
        this.#transaction = ended;
        return serving;
      });
      return await inTransaction(child, fn);
    } finally {
      if (this.#transaction === ended) this.#transaction = undefined;
      end();
    }
  }

  /** Graceful: the child closes PGlite (flushing to disk) and exits; killed after a grace. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const closed = new Error(`${this.description} is closed`);
    this.#unusable = closed;
    this.#stopRestarts.abort();
    await this.#restarting;
    while (this.#transaction) await this.#transaction;
    await this.#child.close(this.#closeGraceMs, closed);
    await this.#unlock?.();
  }

  /**
   * Runs `call` on the serving process once no transaction owns the session and no restart
   * is under way. The last checks and the call happen in one synchronous step, so a
   * transaction starting meanwhile cannot capture this statement.
   */
  async #inTurn<T>(call: (child: EmbeddedChild) => Promise<T>): Promise<T> {
    let deadline: number | undefined;
    for (;;) {
      if (this.#unusable) throw this.#unusable;
      if (this.#transaction) await this.#transaction;
      else if (this.#restarting) {
        await this.#waitForRestart((deadline ??= Date.now() + this.#startTimeoutMs));
      } else return call(this.#child);
    }
  }

  async #waitForRestart(deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.description}: the database process is being restarted and was not ` +
                `back within ${this.#startTimeoutMs} ms`,
            ),
          ),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      await Promise.race([this.#restarting, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sets the session up on a started process: the schema, and after a restart the hook. */
  async #prepare(started: ChildProcess, restarted: boolean): Promise<EmbeddedChild> {
    const child: EmbeddedChild = new EmbeddedChild(started, {
      description: this.description,
      logger: this.#logger,
      onExit: (exit, error) => this.#onExit(child, exit, error),
    });
    try {
      // One session in the child, so a session-level search_path holds for every query.
      // CREATE too: in memory, a restarted process starts with nothing.
      if (this.#schema !== undefined) {
        await child.exec(
          `CREATE SCHEMA IF NOT EXISTS ${this.#schema}; SET search_path TO ${this.#schema}`,
        );
      }
      if (restarted) await this.#onRestart?.(sessionOf(child, this.description));
      return child;
    } catch (err) {
      await child.close(this.#closeGraceMs, new Error(`${this.description} is closed`));
      throw err;
    }
  }

  #onExit(child: EmbeddedChild, exit: ChildExit, error: Error): void {
    // Not ours to restart: closed, given up, or a replacement that died while being
    // prepared (its own restart attempt fails and the loop carries on).
    if (child !== this.#child || this.#unusable) return;
    const reason: ExitReason = {
      message: error.message,
      fields: { pid: child.pid, code: exit.code, signal: exit.signal },
      short: `process ${child.pid} ${describeExit(exit)}`,
    };
    this.#restarting = this.#restart(reason).finally(() => (this.#restarting = undefined));
  }

  /** Starts processes (with backoff) until one serves, restarts are given up, or close(). */
  async #restart(exit: ExitReason): Promise<void> {
    let last: ExitReason = exit;
    const signal = this.#stopRestarts.signal;
    for (;;) {
      const restart = this.#policy.afterExit();
      if (!restart) {
        this.#giveUp(last);
        return;
      }
      const when = restart.delayMs > 0 ? `in ${restart.delayMs} ms` : 'now';
      report(
        this.#logger,
        'error',
        { ...last.fields, attempt: restart.attempt, delayMs: restart.delayMs },
        `${last.message}; restarting it (attempt ${restart.attempt}, ${when})`,
      );
      try {
        await sleep(restart.delayMs, undefined, { signal, ref: false });
        const started = await startEmbeddedProcess(this.#location, 'serve', {
          logger: this.#logger,
          timeoutMs: this.#startTimeoutMs,
          signal,
        });
        const child = await this.#prepare(started, true);
        if (signal.aborted) {
          await child.close(this.#closeGraceMs, this.#unusable!);
          return;
        }
        this.#child = child;
        report(
          this.#logger,
          'info',
          { pid: child.pid, attempt: restart.attempt },
          `${this.description}: the database process was restarted (pid ${child.pid})`,
        );
        return;
      } catch (err) {
        if (signal.aborted) return;
        const message = err instanceof Error ? err.message : String(err);
        last = {
          message: `${this.description}: restarting the database process failed: ${message}`,
          fields: { err: message },
          short: `restarting failed: ${message}`,
        };
      }
    }
  }

  #giveUp(last: ExitReason): void {
    const windowS = this.#policy.crashLoopWindowMs / 1000;
    this.#unusable = new Error(
      `the embedded database crashed repeatedly (${this.#policy.crashLoopExits} unexpected ` +
        `exits within ${windowS} s) and is not restarted again; the last: ${last.short}. ` +
        `See the log for its output (${this.description}); restart the controller once the ` +
        `cause is fixed`,
    );
    report(this.#logger, 'error', last.fields, this.#unusable.message);
  }
}
