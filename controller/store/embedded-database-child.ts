// One embedded database process, seen from the controller: starting it
// (embedded-database-process.ts), its calls and their replies over IPC, and its end.
// embedded-database.ts builds the SqlDatabase on top, and starts another when one dies.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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
import type { SqlExecutor } from './sql.ts';

const CHILD_ENTRY = fileURLToPath(new URL('./embedded-database-process.ts', import.meta.url));

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  logger: Logger | undefined;
  timeoutMs: number;
  /** Aborting kills the process if it has not started yet (close() during a restart). */
  signal?: AbortSignal;
}

/** Starts the process; resolves once its database is open, rejects on failure or timeout. */
export function startEmbeddedProcess(
  dataDir: string,
  mode: EmbeddedMode,
  options: StartOptions,
): Promise<ChildProcess> {
  return started(spawn(dataDir, mode, options.logger), options.timeoutMs, options.signal);
}

export function exited(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return once(child, 'exit');
}

export function describeExit({ code, signal }: ChildExit): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** To the controller's log, or stderr when the caller gave no logger. */
export function report(
  logger: Logger | undefined,
  level: 'info' | 'warn' | 'error',
  fields: Record<string, unknown>,
  message: string,
): void {
  if (logger) logger[level](fields, message);
  else process.stderr.write(`${message}\n`);
}

function spawn(dataDir: string, mode: EmbeddedMode, logger: Logger | undefined): ChildProcess {
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

/** Resolves with the child once it reports its database open; rejects (killing it) otherwise. */
function started(
  child: ChildProcess,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<ChildProcess> {
  return new Promise((resolvePromise, reject) => {
    const fail = (err: Error) => {
      finish();
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new Error(`the embedded database process did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () => fail(new Error('the embedded database process was stopped on start'));
    const onMessage = (message: unknown) => {
      if (!isEmbeddedStartup(message)) return;
      finish();
      if (message.type === 'ready') resolvePromise(child);
      else reject(new Error(message.message));
    };
    const onExit = (code: number | null, exitSignal: NodeJS.Signals | null) => {
      finish();
      reject(
        new Error(
          `the embedded database process ${describeExit({ code, signal: exitSignal })} on start`,
        ),
      );
    };
    const onError = (err: Error) => {
      finish();
      reject(err);
    };
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      child.off('message', onMessage).off('close', onExit).off('error', onError);
    }
    // 'close' comes after the IPC channel is drained: a 'failed' message is seen first.
    child.on('message', onMessage).on('close', onExit).on('error', onError);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort);
  });
}

interface Pending {
  resolve(rows: unknown[]): void;
  reject(err: Error): void;
}

export interface EmbeddedChildOptions {
  description: string;
  logger: Logger | undefined;
  /**
   * Called once the process is gone, after its pending calls were rejected with `error`
   * (close()'s reason, or the exit itself when nobody asked for it).
   */
  onExit?: (exit: ChildExit, error: Error) => void;
}

/** A started embedded database process: one PGlite session, answering in arrival order. */
export class EmbeddedChild implements SqlExecutor {
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #description: string;
  readonly #logger: Logger | undefined;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  /** Set once calls can no longer be answered: every later call rejects with it at once. */
  #unusable: Error | undefined;
  #closing: Promise<void> | undefined;

  constructor(child: ChildProcess, options: EmbeddedChildOptions) {
    this.#child = child;
    this.pid = child.pid!;
    this.#description = options.description;
    this.#logger = options.logger;
    child.on('message', (message: unknown) => {
      if (isEmbeddedReply(message)) this.#settle(message);
    });
    this.#exited = new Promise((resolveExit) => {
      // 'close', not 'exit': it comes after the IPC channel is drained, so replies the
      // child sent just before exiting are settled first.
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        const error = this.#onExit({ code, signal });
        options.onExit?.({ code, signal }, error);
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
    return (await this.#request({ op: 'query', sql, params })) as Row[];
  }

  async exec(sql: string): Promise<void> {
    await this.#request({ op: 'exec', sql });
  }

  /**
   * Graceful: the process closes PGlite (flushing to disk) and exits; killed after graceMs.
   * Calls still waiting for an answer then reject with `reason`. At once if already gone.
   */
  close(graceMs: number, reason: Error): Promise<void> {
    this.#closing ??= this.#shutdown(graceMs, reason);
    return this.#closing;
  }

  async #shutdown(graceMs: number, reason: Error): Promise<void> {
    if (this.#unusable) return this.#exited; // it exited by itself
    const closing = this.#request({ op: 'close' }).catch(() => undefined);
    this.#unusable = reason;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolveGrace) => {
      timer = setTimeout(() => resolveGrace('timeout'), graceMs);
    });
    const outcome = await Promise.race([this.#exited, graceOver]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      report(
        this.#logger,
        'warn',
        { pid: this.pid, graceMs },
        `${this.#description}: the database process ${this.pid} did not exit within ` +
          `${graceMs} ms of close; killing it`,
      );
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
    await closing;
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

  /** Rejects what is still pending: nobody can tell whether it ran (or committed). */
  #onExit(exit: ChildExit): Error {
    this.#unusable ??= new Error(
      `embedded database process exited (code ${exit.code} / signal ${exit.signal}); see the ` +
        `log for its output (${this.#description}, pid ${this.pid})`,
    );
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(this.#unusable);
    return this.#unusable;
  }
}
