// One control-plane process: spawned with its stdout and stderr in log files, watched for an
// early exit, stopped with SIGTERM then SIGKILL, and killed if the test process exits first.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * Kills every process still running when Node exits (mocha's `exit: true` included) or is
 * told to stop by a signal; then Node exits as the signal would have made it, unless someone
 * else handles the signal. Only SIGKILL of Node leaves them behind: workspace.ts reaps those.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      if (process.listenerCount(signal) === 0) process.exit(128 + constants.signals[signal]);
    });
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly name: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private stopping = false;
  private spawnError: Error | undefined;

  private constructor(name: string, binary: string, args: string[], logsDir: string) {
    installExitHook();
    this.name = name;
    this.stdoutPath = join(logsDir, `${name}.stdout.log`);
    this.stderrPath = join(logsDir, `${name}.stderr.log`);
    const out = openSync(this.stdoutPath, 'a');
    const err = openSync(this.stderrPath, 'a');
    try {
      this.child = spawn(binary, args, { stdio: ['ignore', out, err] });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    live.add(this.child);
    this.exited = new Promise<Exit>((resolve) => {
      const done = (exit: Exit) => {
        live.delete(this.child);
        this.exit ??= exit;
        resolve(this.exit);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', (error) => {
        this.spawnError = error;
        done({ code: null, signal: null });
      });
    });
  }

  static start(name: string, binary: string, args: string[], logsDir: string): ManagedProcess {
    return new ManagedProcess(name, binary, args, logsDir);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True until the process exits. */
  get running(): boolean {
    return this.exit === undefined;
  }

  /** The last `lines` lines of its stderr log. */
  tail(lines = 25): string {
    try {
      const text = readFileSync(this.stderrPath, 'utf8').trimEnd();
      return text.split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Why it is not running, with the end of its stderr: for errors. */
  describeExit(): string {
    const how = this.spawnError
      ? `could not start: ${this.spawnError.message}`
      : `exited early (code ${this.exit?.code ?? '?'}${this.exit?.signal ? `, signal ${this.exit.signal}` : ''})`;
    return (
      `${this.name} ${how}; last stderr lines (${this.stderrPath}):\n` +
      this.tail()
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n')
    );
  }

  /** True when it exited on its own, not because stop() was called. */
  get failed(): boolean {
    return !this.running && !this.stopping;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }
}
