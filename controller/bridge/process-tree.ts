// Every process a server started, found through /proc, not only its process group.
//
// A server is spawned as the leader of its own process group, but anything it starts with
// setsid() leaves that group (and its session), and anything whose parent exits is re-parented
// to init: `kill(-pgid)` reaches neither. Two marks find them instead:
//   - parentage: a setsid'd process stays a descendant of the server until its parent exits,
//     so the tree below the server (read from each process's ppid in /proc/<pid>/stat) is
//     collected while the server runs and again just before it is signalled;
//   - a tag: each server's environment carries PROCESS_TAG_VARIABLE=<tag>, which every process
//     it starts inherits unless it clears its environment, so a re-parented orphan is still
//     found by /proc/<pid>/environ.
// A PID is only ever signalled together with its start time (field 22 of stat), so a PID the
// kernel has since handed to an unrelated process is never touched. Without /proc (macOS)
// every function here finds nothing and the process group is all that is killed.
import { readdirSync, readFileSync } from 'node:fs';

export const PROCESS_TAG_VARIABLE = 'MCPFLEET_PROCESS_TAG';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks after boot: with the PID, names one process for its whole life. */
  startTime: number;
}

/** Live (non-zombie) processes of this machine by PID; empty without /proc. */
export type ProcessTable = Map<number, ProcessEntry>;

export function readProcessTable(): ProcessTable {
  const table: ProcessTable = new Map();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readProcess(Number(name));
    if (entry) table.set(entry.pid, entry);
  }
  return table;
}

/** One process's entry, or undefined once it is gone (or a zombie: it runs no more). */
export function readProcess(pid: number): ProcessEntry | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return {
    pid,
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    startTime: Number(fields[19]),
  };
}

/**
 * Every descendant of `roots` (not the roots themselves), read from each process's own list
 * of children (/proc/<pid>/task/<tid>/children): the cost follows the tree, not the machine.
 * Where the kernel has no such lists, from the whole table instead.
 */
export function descendantsFrom(roots: Iterable<number>): ProcessEntry[] {
  const found = new Map<number, ProcessEntry>();
  const pending = [...roots];
  const rootSet = new Set(pending);
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    const children = childrenOf(pid);
    if (children === undefined) return descendantsOf(rootSet, readProcessTable());
    for (const child of children) {
      if (found.has(child) || rootSet.has(child)) continue;
      const entry = readProcess(child);
      if (!entry) continue;
      found.set(child, entry);
      pending.push(child);
    }
  }
  return [...found.values()];
}

/** The PIDs of `pid`'s children, [] once it is gone, undefined where the kernel cannot tell. */
function childrenOf(pid: number): number[] | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const task of tasks) {
    try {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
      for (const child of list.split(' ')) if (child.trim() !== '') children.push(Number(child));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsTask(pid, task))
        return undefined;
    }
  }
  return children;
}

/** Whether the task is still there (its children file missing means no CONFIG_PROC_CHILDREN). */
function existsTask(pid: number, task: string): boolean {
  try {
    readdirSync(`/proc/${pid}/task/${task}`);
    return true;
  } catch {
    return false;
  }
}

/** Every descendant of `roots` in `table` (not the roots themselves). */
export function descendantsOf(roots: Iterable<number>, table: ProcessTable): ProcessEntry[] {
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of table.values()) {
    const siblings = children.get(entry.ppid);
    if (siblings) siblings.push(entry);
    else children.set(entry.ppid, [entry]);
  }
  const found = new Map<number, ProcessEntry>();
  const pending = [...roots];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    for (const child of children.get(pid) ?? []) {
      if (found.has(child.pid)) continue;
      found.set(child.pid, child);
      pending.push(child.pid);
    }
  }
  for (const root of roots) found.delete(root);
  return [...found.values()];
}

/** The processes of `table` whose environment carries one of `tags`. */
export function taggedProcesses(tags: ReadonlySet<string>, table: ProcessTable): ProcessEntry[] {
  if (tags.size === 0) return [];
  const wanted = new Set([...tags].map((tag) => `${PROCESS_TAG_VARIABLE}=${tag}`));
  return [...table.values()].filter((entry) => {
    let environ: string;
    try {
      // Another user's process (EACCES) is none of ours.
      environ = readFileSync(`/proc/${entry.pid}/environ`, 'latin1');
    } catch {
      return false;
    }
    return environ.split('\0').some((variable) => wanted.has(variable));
  });
}

/** Sends `signal` to each process that is still the one recorded; never throws. */
export function signalEach(entries: Iterable<ProcessEntry>, signal: NodeJS.Signals): void {
  for (const entry of entries) {
    if (readProcess(entry.pid)?.startTime !== entry.startTime) continue;
    try {
      process.kill(entry.pid, signal);
    } catch {
      /* gone meanwhile */
    }
  }
}
