// Embedded PostgreSQL (PGlite) in a child process of its own: the default when no
// DATABASE_URL is given. The controller keeps only this thin client, so its own memory
// stays small, the database's is measured apart, and a database crash fails store calls
// (with a clear error) instead of taking the gateway down. The child exits by itself when
// the controller dies, so it is never left behind.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../observability/log.ts';
import {
  fromWireError,
  isEmbeddedReply,
  isEmbeddedStartup,
  type EmbeddedMode,
  type EmbeddedOp,
  type EmbeddedReply,
  type EmbeddedRequest,
} from './embedded-database-protocol.ts';
import { assertSchemaName, type SqlDatabase, type SqlExecutor } from './sql.ts';

const CHILD_ENTRY = fileURLToPath(new URL('./embedded-database-process.ts', import.meta.url));

export interface EmbeddedDatabaseOptions {
  schema?: string;
  /** Where the child's output and its unexpected exit are reported; default stderr. */
  logger?: Logger;
  /** Bound on opening (a first run also creates the data directory); default 60 s. */
  startTimeoutMs?: number;
  /** How long close() waits for the child to flush and exit before killing it; default 10 s. */
  closeGraceMs?: number;
}

/** A SqlDatabase whose PGlite runs in the child process `pid`. */
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
  let child: ChildProcess;
  try {
    // A fresh data directory is created (initdb) by a process that exits right after:
    // initdb's peak (~600 MB RSS) would otherwise stay with the serving process for good.
    if (!inMemory && !existsSync(join(location, 'PG_VERSION'))) {
      const init = await started(startChild(location, 'init', logger), startTimeoutMs);
      await exited(init); // at once: it has closed the database and is on its way out
    }
    child = await started(startChild(location, 'serve', logger), startTimeoutMs);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot open the embedded database under "${dataDir}": ${reason}`, {
      cause: err,
    });
  }
  const db = new ChildProcessDatabase(child, {
    description: inMemory ? dataDir : `embedded PostgreSQL under ${dataDir}`,
    logger,
    closeGraceMs: options.closeGraceMs ?? 10_000,
  });
  if (schema !== undefined) {
    try {
      // One session in the child, so a session-level search_path holds for every query.
      await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
    } catch (err) {
      await db.close();
      throw err;
    }
  }
  return db;
}

function startChild(dataDir: string, mode: EmbeddedMode, logger: Logger | undefined) {
  const child = fork(CHILD_ENTRY, [dataDir, mode], {
    execPath: process.execPath,
    // Not the controller's flags (--inspect would clash on its port, --expose-gc is moot).
    execArgv: ['--disable-warning=ExperimentalWarning'],
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  forwardOutput(child, logger);
  // Failing to spawn rejects the start (see started); later ones (a signal that could not
  // be delivered) are only worth a line.
  child.on('error', (err) =>
    report(logger, 'warn', { pid: child.pid, err: err.message }, 'embedded database process'),
  );
  return child;
}

/** To the controller's log, or stderr when the caller gave no logger. */
function report(
  logger: Logger | undefined,
  level: 'warn' | 'error',
  fields: Record<string, unknown>,
  message: string,
): void {
  if (logger) logger[level](fields, message);
  else process.stderr.write(`${message}\n`);
}

/** PGlite may print warnings; they belong in the controller's log, not lost. */
function forwardOutput(child: ChildProcess, logger: Logger | undefined): void {
  for (const [stream, readable] of [
    ['stdout', child.stdout],
    ['stderr', child.stderr],
  ] as const) {
    if (!readable) continue;
    createInterface({ input: readable, crlfDelay: Infinity }).on('line', (line) =>
      report(logger, 'warn', { pid: child.pid, stream }, `embedded database ${child.pid}: ${line}`),
    );
  }
}

/** Resolves with the child once it reports its database open; rejects on failure or timeout. */
function started(child: ChildProcess, timeoutMs: number): Promise<ChildProcess> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      finish();
      child.kill('SIGKILL');
      reject(new Error(`the embedded database process did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      if (!isEmbeddedStartup(message)) return;
      finish();
      if (message.type === 'ready') resolvePromise(child);
      else reject(new Error(message.message));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      finish();
      reject(new Error(`the embedded database process ${describeExit(code, signal)} on start`));
    };
    const onError = (err: Error) => {
      finish();
      reject(err);
    };
    function finish() {
      clearTimeout(timer);
      child.off('message', onMessage).off('close', onExit).off('error', onError);
    }
    // 'close' comes after the IPC channel is drained: a 'failed' message is seen first.
    child.on('message', onMessage).on('close', onExit).on('error', onError);
  });
}

function exited(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return once(child, 'exit');
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

interface Pending {
  resolve(rows: unknown[]): void;
  reject(err: Error): void;
}

class ChildProcessDatabase implements EmbeddedDatabase {
  readonly description: string;
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #logger: Logger | undefined;
  readonly #closeGraceMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  /** Set once calls can no longer be answered: every later call rejects with it at once. */
  #unusable: Error | undefined;
  #closing: Promise<void> | undefined;
  /** The running transaction's end; ordinary calls wait for it (one session). */
  #transaction: Promise<void> | undefined;
  /** The last transaction queued: the next one starts after it. */
  #lastTransaction: Promise<void> = Promise.resolve();

  constructor(
    child: ChildProcess,
    options: { description: string; logger: Logger | undefined; closeGraceMs: number },
  ) {
    this.#child = child;
    this.pid = child.pid!;
    this.description = options.description;
    this.#logger = options.logger;
    this.#closeGraceMs = options.closeGraceMs;
    child.on('message', (message: unknown) => {
      if (isEmbeddedReply(message)) this.#settle(message);
    });
    this.#exited = new Promise((resolveExit) => {
      // 'close', not 'exit': it comes after the IPC channel is drained, so replies the
      // child sent just before exiting are settled first.
      child.once('close', (code, signal) => {
        this.#onExit(code, signal);
        resolveExit();
      });
    });
    // Idle, the database does not keep the controller alive (neither did in-process
    // PGlite); a pending call does (see #request). The child exits when we do.
    child.unref();
    child.channel?.unref();
    for (const stream of [child.stdout, child.stderr]) {
      (stream as { unref?: () => void } | null)?.unref?.();
    }
  }

  async query<Row>(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.#inTurn({ op: 'query', sql, params })) as Row[];
  }

  async exec(sql: string): Promise<void> {
    await this.#inTurn({ op: 'exec', sql });
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
    await previous;
    // No await between this check and sending BEGIN: nothing can slip in between.
    while (this.#transaction) await this.#transaction;
    this.#transaction = ended;
    const tx: SqlExecutor = {
      query: async <Row>(sql: string, params: unknown[] = []) =>
        (await this.#request({ op: 'query', sql, params })) as Row[],
      exec: async (sql: string) => {
        await this.#request({ op: 'exec', sql });
      },
    };
    try {
      await this.#request({ op: 'exec', sql: 'BEGIN' });
      const result = await fn(tx);
      await this.#request({ op: 'exec', sql: 'COMMIT' });
      return result;
    } catch (err) {
      await this.#request({ op: 'exec', sql: 'ROLLBACK' }).catch(() => undefined);
      throw err;
    } finally {
      this.#transaction = undefined;
      end();
    }
  }

  /** Graceful: the child closes PGlite (flushing to disk) and exits; killed after a grace. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    while (this.#transaction) await this.#transaction;
    if (this.#unusable) return; // already gone
    const closing = this.#request({ op: 'close' }).catch(() => undefined);
    this.#unusable = new Error(`${this.description} is closed`);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolveGrace) => {
      timer = setTimeout(() => resolveGrace('timeout'), this.#closeGraceMs);
    });
    const outcome = await Promise.race([this.#exited, graceOver]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      report(
        this.#logger,
        'warn',
        { pid: this.pid, graceMs: this.#closeGraceMs },
        `${this.description}: the database process did not exit after close; killing it`,
      );
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
    await closing;
  }

  /**
   * Sends once no transaction owns the session. The last check and the send happen in one
   * synchronous step, so a transaction starting meanwhile cannot capture this statement.
   */
  async #inTurn(op: EmbeddedOp): Promise<unknown[]> {
    while (this.#transaction) await this.#transaction;
    return this.#request(op);
  }

  #request(op: EmbeddedOp): Promise<unknown[]> {
    if (this.#unusable) return Promise.reject(this.#unusable);
    const id = this.#nextId++;
    return new Promise((resolveRows, reject) => {
      if (this.#pending.size === 0) this.#child.channel?.ref();
      this.#pending.set(id, { resolve: resolveRows, reject });
      try {
        this.#child.send({ ...op, id } satisfies EmbeddedRequest, (err) => {
          // Lost with the channel: the exit handler rejects it with the reason.
          if (err && !this.#child.connected) return;
          if (err) this.#settle({ id, error: { message: err.message } });
        });
      } catch (err) {
        // Not serializable (a function or symbol among the parameters): the caller's bug.
        this.#settle({ id, error: { message: err instanceof Error ? err.message : String(err) } });
      }
    });
  }

  #settle(reply: EmbeddedReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#child.channel?.unref();
    if ('error' in reply) pending.reject(fromWireError(reply.error));
    else pending.resolve(reply.rows);
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (!this.#unusable) {
      this.#unusable = new Error(
        `embedded database process exited (code ${code} / signal ${signal}); see the log ` +
          `for its output (${this.description}, pid ${this.pid})`,
      );
      report(this.#logger, 'error', { pid: this.pid, code, signal }, this.#unusable.message);
    }
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(this.#unusable);
  }
}
