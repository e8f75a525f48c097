// Runs a runbook's command as an operator's shell would: /bin/sh with kubectl (built from the
// control plane's release) on PATH, KUBECONFIG set, MCPFLEET_URL pointing at the controller,
// MCPFLEET_TOKEN holding the operator's API key (the controller checks credentials) and the checkout as working directory (so `npx mcpfleet` is the CLI of this checkout), after the
// page's placeholders (`<ns>`, `<slug>`, `<pod>`…) are replaced by this platform's values.
// A command that runs until Ctrl-C (`--follow`, `--watch`) is stopped the way a terminal stops
// it: SIGINT to its process group. A variable a command sets (`TOKEN=$(curl …)`, `export X=…`,
// at the start of the command) is there for the commands after it, as in the operator's
// terminal, though each command runs in a shell of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

const REPO = join(import.meta.dirname, '../../..');
/** A command that starts by setting a variable: `NAME=value …` or `export NAME=value`. */
const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/;

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunbookShellOptions {
  kubectl: string;
  kubeconfig: string;
  mcpfleetUrl: string;
  /** The API key the CLI sends (MCPFLEET_TOKEN). */
  token: string;
}

export class RunbookShell {
  readonly vars = new Map<string, string>();
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: RunbookShellOptions) {
    const bin = mkdtempSync(join(tmpdir(), 'mcpfleet-runbook-bin-'));
    symlinkSync(options.kubectl, join(bin, 'kubectl'));
    this.env = {
      ...process.env,
      // This Node (22) first, as the README's setup puts the project's on PATH.
      PATH: [bin, dirname(process.execPath), process.env.PATH].join(':'),
      KUBECONFIG: options.kubeconfig,
      MCPFLEET_URL: options.mcpfleetUrl,
      MCPFLEET_TOKEN: options.token,
    };
  }

  /** Sets a shell variable for the commands to come, as the page tells the reader to. */
  setVariable(name: string, value: string): void {
    this.env[name] = value;
  }

  /** A shell variable's value now (one the test or a command set). */
  variable(name: string): string | undefined {
    return this.env[name];
  }

  /** The command with every `<placeholder>` replaced; an unknown one is an error. */
  substitute(command: string): string {
    return command.replace(/<([a-z-]+)>/g, (whole, name: string) => {
      const value = this.vars.get(name);
      if (value === undefined) throw new Error(`runbook: no value for ${whole} in: ${command}`);
      return value;
    });
  }

  run(command: string, timeoutMs = 60_000): Promise<ShellResult> {
    return this.start(command, timeoutMs).done;
  }

  /**
   * Starts a command that runs until Ctrl-C; `meanwhile` happens once it printed something (it
   * is listening), then it runs until what it printed since matches `until`, and gets SIGINT.
   */
  async follow(
    command: string,
    until: RegExp,
    meanwhile?: () => Promise<void>,
    timeoutMs = 90_000,
  ): Promise<ShellResult> {
    const started = this.start(command, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    const waitFor = async (ok: () => boolean, what: string) => {
      while (!ok()) {
        if (started.exited())
          throw new Error(`${command} ended before ${what}: ${started.output()}`);
        if (Date.now() > deadline) throw new Error(`${command}: no ${what}: ${started.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    let from = 0;
    if (meanwhile) {
      await waitFor(() => started.output().length > 0, 'first output');
      from = started.output().length;
      await meanwhile();
    }
    await waitFor(() => until.test(started.output().slice(from)), `output matching ${until}`);
    started.interrupt();
    return started.done;
  }

  private start(command: string, timeoutMs: number) {
    const script = this.substitute(command);
    // What the command assigns is written, after it ran, to descriptor 3, NUL-terminated.
    const assigned = ASSIGNMENT.exec(script)?.[1];
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        assigned === undefined
          ? script
          : `${script}\n__status=$?; printf '%s\\0' "$${assigned}" >&3; exit $__status`,
      ],
      {
        cwd: REPO,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        detached: true, // its own process group, as a terminal's foreground job
      },
    );
    let stdout = '';
    let stderr = '';
    let value = '';
    let exited = false;
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    (child.stdio[3] as Readable).on('data', (chunk: Buffer) => (value += chunk.toString()));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => signalGroup('SIGKILL'), timeoutMs);
    const done = new Promise<ShellResult>((resolve) => {
      child.once('close', (code) => {
        exited = true;
        clearTimeout(timer);
        if (assigned !== undefined && value.endsWith('\0')) this.env[assigned] = value.slice(0, -1);
        resolve({ code, stdout, stderr });
      });
    });
    return {
      done,
      output: () => stdout,
      exited: () => exited,
      interrupt: () => signalGroup('SIGINT'),
    };
  }
}
