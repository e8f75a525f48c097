// Runs the real `mcpfleet` executable as a process, for commands that run until Ctrl-C
// (--follow, --watch): the test waits for what it prints, then sends SIGINT like a terminal.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../controller/cli/bin.js', import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches `pattern` (or fails after `timeoutMs`, or if the CLI exits). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Ctrl-C: SIGINT, then the exit code. */
  interrupt(): Promise<number | null>;
  /** The exit code, whenever it comes. */
  exited: Promise<number | null>;
}

export function spawnCli(...args: string[]): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, MCPFLEET_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const wake of waiters) wake();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} in ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const check = (): void => {
          const match = out.match(pattern);
          if (!match && !done) return;
          waiters.delete(check);
          clearTimeout(timer);
          if (match) resolve(match);
          else reject(new Error(`exited before ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
        };
        waiters.add(check);
        check();
      });
    },
    async interrupt() {
      child.kill('SIGINT');
      return exited;
    },
  };
}
