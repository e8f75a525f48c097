// The bridge's live server processes. Every one starts here (spawn), only while there is
// room for it — the cap on children, the memory floor (memory-floor.ts) — and each exit is
// told to the bridge's owner with the role the process had then (a spare taken by a session
// exits as a session) and whether it had started (child-start.ts). One process is kept
// ahead of the next session, the warm spare, hiding a start's time from its client.
import { hasStarted, whenStarted } from './child-start.ts';
import type { ChildRole, StdioBridgeOptions } from './bridge-options.ts';
import { MemoryFloor } from './memory-floor.ts';
import { StdioChild, describeExit, type ChildExit } from './stdio-child.ts';

export class BridgeChildren {
  private readonly options: StdioBridgeOptions;
  private readonly live = new Set<StdioChild>();
  private readonly maxChildren: number;
  private readonly memory: MemoryFloor;
  /** Told first of every exit: what waits on that process forgets it. */
  private readonly onExited: (child: StdioChild, exit: ChildExit) => void;
  private spare: StdioChild | undefined;
  private stopping = false;

  constructor(options: StdioBridgeOptions, onExited: (child: StdioChild, exit: ChildExit) => void) {
    this.options = options;
    this.onExited = onExited;
    this.maxChildren = Math.max(1, options.maxChildren ?? 64);
    this.memory = new MemoryFloor(options.minFreeMemoryBytes, options.logger);
  }

  get size(): number {
    return this.live.size;
  }

  pids(): number[] {
    return [...this.live].map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** The cap on children, when it is reached. */
  atCapacity(): string | undefined {
    return this.live.size >= this.maxChildren ? this.capacityMessage() : undefined;
  }

  /** Why no child may start now — the cap on children, the memory floor — or undefined. */
  room(): string | undefined {
    return this.atCapacity() ?? this.memory.refusal();
  }

  /** Why a request found no process: what room() says now, else the cap. */
  refusal(): string {
    return this.room() ?? this.capacityMessage();
  }

  spawn(role: ChildRole = 'session'): StdioChild {
    const child = new StdioChild(this.options.command, this.options.logger, {
      maxMessageBytes: this.options.maxMessageBytes,
    });
    this.live.add(child);
    this.options.onChildCount?.(this.live.size);
    let currentRole = role;
    whenStarted(child, () => this.options.onChildStarted?.());
    void child.exited.then((exit) => {
      this.live.delete(child);
      this.onExited(child, exit);
      // A spare taken by a session exits as a session.
      if (this.spare === child) this.spare = undefined;
      else if (currentRole === 'spare') currentRole = 'session';
      const level = exit.expected ? 'debug' : 'warn';
      this.options.logger[level](
        { pid: child.pid, code: exit.code, signal: exit.signal, role: currentRole },
        `MCP server process ${describeExit(exit)}`,
      );
      this.options.onChildCount?.(this.live.size);
      this.options.onChildExit?.(exit, currentRole, hasStarted(child));
    });
    return child;
  }

  /** Starts the warm spare if the bridge keeps one, has none and has room for it. */
  ensureSpare(): void {
    if ((this.options.warmSpares ?? 1) < 1 || this.spare || this.stopping) return;
    if (this.room() !== undefined) return;
    this.spare = this.spawn('spare');
  }

  /** The warm spare, which is no longer one (a session takes it), if there is one. */
  takeSpare(): StdioChild | undefined {
    const spare = this.spare;
    this.spare = undefined;
    return spare;
  }

  /** The warm spare, started now if there is none and there is room, left in place. */
  currentSpare(): StdioChild | undefined {
    if (!this.spare && this.room() === undefined) this.spare = this.spawn('spare');
    return this.spare;
  }

  /** Stops every live process; no spare starts after this. */
  async stopAll(killGraceMs: number | undefined): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.live].map((child) => child.stop(killGraceMs)));
  }

  private capacityMessage(): string {
    return `MCP bridge at capacity (${this.maxChildren} processes)`;
  }
}
