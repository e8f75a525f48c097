// Children die with the controller, whatever kills it. An exit handler runs on exit() and on
// the signals we handle, never on SIGKILL or a crash of Node itself; then every child would
// be re-parented to init and keep serving. So each controller keeps one small watchdog
// process (watchdog-process.ts) holding the read end of a pipe whose write end only this
// process has: the kernel closes it however this process ends, the watchdog reads EOF and
// kills every process tree it was told of (tag, PIDs with start times).
//
// Why not prctl(PR_SET_PDEATHSIG) (Node has no binding; `setpriv --pdeathsig KILL <cmd>`
// from util-linux would set it): the parent-death signal reaches only the process it is set
// on, not what that process starts — npx's node, a server's setsid'd workers, orphans — and
// it fires when the spawning *thread* exits, not the process. The watchdog kills whole trees
// with the same code the controller stops them with (tracked-tree.ts), needs no binary
// beyond Node, and works the same in every image.
//
// Not started when this process is PID 1 (the bridge in a pod): when a PID namespace's init
// dies, the kernel kills every process in it already.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProcessEntry } from './process-tree.ts';

const PROGRAM = fileURLToPath(new URL('./watchdog-process.ts', import.meta.url));
/** A watchdog that keeps dying is not restarted forever. */
const MAX_RESTARTS = 5;

export class Watchdog {
  /** What the watchdog was told, replayed to a new one if it had to be restarted. */
  readonly #trees = new Map<string, Map<number, ProcessEntry>>();
  #process: ChildProcess | undefined;
  #restarts = 0;
  #closing = false;

  /** The watchdog's PID (tests), or undefined before the first tree or when not needed. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  track(tag: string, entry: ProcessEntry): void {
    if (process.pid === 1) return;
    let tree = this.#trees.get(tag);
    if (!tree) this.#trees.set(tag, (tree = new Map()));
    tree.set(entry.pid, entry);
    this.#send(trackLine(tag, entry));
  }

  untrack(tag: string, pid: number): void {
    if (this.#trees.get(tag)?.delete(pid)) this.#send(`untrack ${tag} ${pid}\n`);
  }

  forget(tag: string): void {
    if (!this.#trees.delete(tag)) return;
    this.#send(`forget ${tag}\n`);
  }

  /** This process is exiting and has killed its children itself: let the watchdog go. */
  close(): void {
    this.#closing = true;
    this.#process?.stdin?.end();
  }

  #send(line: string): void {
    const stdin = this.#ensure()?.stdin;
    if (stdin && stdin.writable) stdin.write(line);
  }

  #ensure(): ChildProcess | undefined {
    if (this.#process || this.#closing || this.#restarts > MAX_RESTARTS) return this.#process;
    // Its own session: a terminal's ^C or a kill of our process group does not reach it.
    const child = spawn(process.execPath, ['--max-old-space-size=16', PROGRAM], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: {},
    });
    this.#process = child;
    // Neither the watchdog nor its pipe keeps this process alive.
    child.unref();
    (child.stdin as unknown as { unref(): void }).unref();
    child.stdin!.on('error', () => {
      /* the watchdog died; 'exit' restarts it */
    });
    child.once('exit', () => {
      this.#process = undefined;
      if (this.#closing) return;
      this.#restarts++;
      const replay = [...this.#trees].flatMap(([tag, tree]) =>
        [...tree.values()].map((entry) => trackLine(tag, entry)),
      );
      if (replay.length > 0) this.#send(replay.join(''));
    });
    return child;
  }
}

function trackLine(tag: string, entry: ProcessEntry): string {
  return `track ${tag} ${entry.pid} ${entry.startTime}\n`;
}
