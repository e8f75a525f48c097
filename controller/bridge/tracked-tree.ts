// The processes of one server: its leader, everything below it, and everything carrying its
// tag (process-tree.ts says why both). Shared by the controller, which stops a server's tree,
// and by the watchdog process, which kills every tree it was told of once the controller dies.
import {
  descendantsFrom,
  readProcess,
  readProcessTable,
  signalEach,
  taggedProcesses,
  type ProcessEntry,
  type ProcessTable,
} from './process-tree.ts';

/** Kill rounds before giving up on a tree that keeps forking faster than it is killed. */
const KILL_ROUNDS = 5;

export class TrackedTree {
  readonly tag: string;
  /** Every member seen so far, by PID (with its start time: the PID may be reused later). */
  readonly #known = new Map<number, ProcessEntry>();

  constructor(tag: string) {
    this.tag = tag;
  }

  remember(entry: ProcessEntry): void {
    this.#known.set(entry.pid, entry);
  }

  /**
   * The members running now: those seen before, their descendants, and (unless `tagged` is
   * false) the processes carrying the tag, which takes a look at every process of the machine.
   */
  members(tagged = true): ProcessEntry[] {
    const live = [...readKnown(this.#known.keys()).values()].filter(
      (entry) => this.#known.get(entry.pid)?.startTime === entry.startTime,
    );
    const found = new Map(live.map((entry) => [entry.pid, entry]));
    const others = [
      ...descendantsFrom(found.keys()),
      ...(tagged ? taggedProcesses(new Set([this.tag]), readProcessTable()) : []),
    ];
    for (const entry of others) found.set(entry.pid, entry);
    return [...found.values()];
  }

  /** Remembers every member running now (see members); returns those not seen before. */
  collect(tagged = true): ProcessEntry[] {
    const fresh: ProcessEntry[] = [];
    for (const entry of this.members(tagged)) {
      if (this.#known.get(entry.pid)?.startTime === entry.startTime) continue;
      this.remember(entry);
      fresh.push(entry);
    }
    return fresh;
  }

  /** Forgets the members seen before that no longer run; returns them. */
  prune(): ProcessEntry[] {
    const current = readKnown(this.#known.keys());
    const gone = [...this.#known.values()].filter(
      (entry) => current.get(entry.pid)?.startTime !== entry.startTime,
    );
    for (const entry of gone) this.#known.delete(entry.pid);
    return gone;
  }

  forget(pid: number): void {
    this.#known.delete(pid);
  }

  #rememberAll(entries: ProcessEntry[]): ProcessEntry[] {
    for (const entry of entries) this.remember(entry);
    return entries;
  }

  /** Whether a member seen before still runs (cheap: no scan of the whole machine). */
  knownAlive(): boolean {
    const current = readKnown(this.#known.keys());
    return [...this.#known.values()].some(
      (entry) => current.get(entry.pid)?.startTime === entry.startTime,
    );
  }

  /** Signals every member running now; returns how many there were. */
  signal(signal: NodeJS.Signals): number {
    const members = this.#rememberAll(this.members());
    signalEach(members, signal);
    return members.length;
  }

  /** Kills every member at once (synchronous): killTrees of this tree alone. */
  killAll(): void {
    killTrees([this]);
  }
}

/**
 * Kills every member of every tree at once (synchronous), with one look at the machine a
 * round whatever the number of trees. Each round first stops (SIGSTOP) what it finds, so no
 * member can start another between the scan and the kill, then scans again and kills
 * (SIGKILL works on a stopped process).
 */
export function killTrees(trees: Iterable<TrackedTree>): void {
  const all = [...trees];
  if (all.length === 0) return;
  const tags = new Set(all.map((tree) => tree.tag));
  const everyMember = (): ProcessEntry[] => {
    const found = new Map<number, ProcessEntry>();
    for (const tree of all) for (const entry of tree.members(false)) found.set(entry.pid, entry);
    const tagged = taggedProcesses(tags, readProcessTable());
    for (const entry of [...tagged, ...descendantsFrom(tagged.map((e) => e.pid))])
      found.set(entry.pid, entry);
    return [...found.values()];
  };
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const members = everyMember();
    if (members.length === 0) return;
    signalEach(members, 'SIGSTOP');
    signalEach(everyMember(), 'SIGKILL');
  }
}

function readKnown(pids: Iterable<number>): ProcessTable {
  const table: ProcessTable = new Map();
  for (const pid of pids) {
    const entry = readProcess(pid);
    if (entry) table.set(pid, entry);
  }
  return table;
}
