// Child processes that cannot outlive us. Each child is spawned as the leader of its own
// process group (detached), so killing `-pid` takes down what it started in that group
// (npx → node, uvx → python); and each child's whole process tree is tracked beyond the
// group (tracked-tree.ts: its setsid'd descendants, and orphans carrying its tag), so a stop
// leaves no process of it alive. Every live child is remembered:
//   - on process exit or a terminating signal they are all killed synchronously;
//   - if this process is killed in a way no handler sees (SIGKILL), the watchdog kills them
//     (watchdog.ts);
//   - a child whose leader exits by itself (a crash) has whatever it left behind stopped too.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { PROCESS_TAG_VARIABLE, readProcess } from './process-tree.ts';
import { TrackedTree, killTrees } from './tracked-tree.ts';
import { Watchdog } from './watchdog.ts';

/**
 * How often the trees of running children are collected: a setsid'd grandchild is found
 * by parentage only while its parent lives, so it is looked for before the parent can die.
 */
const COLLECT_INTERVAL_MS = 1000;
/** How often a stopping tree is looked at. */
const STOP_POLL_MS = 50;
const DEFAULT_GRACE_MS = 1500;

interface Group {
  child: ChildProcess;
  tree: TrackedTree;
  /** Set once the tree is being stopped: SIGTERM, then SIGKILL after the grace. */
  stopping?: Promise<void>;
}

const live = new Map<ChildProcess, Group>();
const watchdog = new Watchdog();
let collector: NodeJS.Timeout | undefined;
let guardInstalled = false;

function signalGroupId(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    /* the group is empty (ESRCH) */
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Remembers the group's members running now and forgets those gone (a server that runs a
 * process per call would otherwise grow the lists forever), and tells the watchdog.
 */
function collect(group: Group, tagged = true): number {
  const { tag } = group.tree;
  const fresh = group.tree.collect(tagged);
  for (const entry of fresh) watchdog.track(tag, entry);
  for (const entry of group.tree.prune()) watchdog.untrack(tag, entry.pid);
  return fresh.length;
}

/**
 * While servers run, their trees are followed by parentage alone (the cost follows the trees):
 * a tagged orphan is found when its tree stops, by the controller or the watchdog.
 */
function collectAll(): void {
  for (const group of live.values()) if (!group.stopping) collect(group, false);
}

function killAllNow(): void {
  for (const { child } of live.values()) signalGroupId(child.pid, 'SIGKILL');
  killTrees([...live.values()].map((group) => group.tree));
  live.clear();
  watchdog.close();
}

function onTerminatingSignal(signal: NodeJS.Signals): void {
  // Someone else handles the signal (mcpfleet serve's graceful shutdown lets the calls in
  // flight finish, then stops the children itself and exits; the exit handler kills whatever
  // is left): leave them to it. Otherwise behave as Node would without us: kill, die by it.
  if (process.listenerCount(signal) > 0) return;
  killAllNow();
  process.kill(process.pid, signal);
}

function installGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, onTerminatingSignal);
  }
}

function track(child: ChildProcess, tag: string): void {
  const group: Group = { child, tree: new TrackedTree(tag) };
  live.set(child, group);
  // The leader's start time, read at once: its PID is signalled only while it is that process.
  const leader = readProcess(child.pid!);
  if (leader) {
    group.tree.remember(leader);
    watchdog.track(tag, leader);
  }
  if (!collector) {
    collector = setInterval(collectAll, COLLECT_INTERVAL_MS);
    collector.unref();
  }
  child.once('exit', () => {
    // A leader that exits by itself may leave processes behind: they go too.
    group.stopping ??= stopTree(group, DEFAULT_GRACE_MS);
    void group.stopping.then(() => {
      live.delete(child);
      watchdog.forget(tag);
      if (live.size === 0 && collector) {
        clearInterval(collector);
        collector = undefined;
      }
    });
  });
}

/** SIGTERM to every member, SIGKILL to what is left after `graceMs`. */
async function stopTree(group: Group, graceMs: number): Promise<void> {
  const { child, tree } = group;
  // Before any signal: once the leader exits, its setsid'd children are no longer its.
  collect(group);
  signalGroupId(child.pid, 'SIGTERM');
  tree.signal('SIGTERM');
  const leaderExit = exited(child)
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + graceMs;
  for (;;) {
    // A last full look once everything known is gone: something tagged may not be known yet,
    // and gets its SIGTERM too.
    if (exited(child) && !tree.knownAlive()) {
      if (collect(group) === 0) break;
      tree.signal('SIGTERM');
    }
    if (Date.now() >= deadline) {
      signalGroupId(child.pid, 'SIGKILL');
      tree.killAll();
      break;
    }
    const pause = new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    // Woken early by the leader's exit: most trees are the leader alone.
    await (exited(child) ? pause : Promise.race([leaderExit, pause]));
  }
  await leaderExit;
}

/** Spawns `command` in a new process group whose processes cannot outlive this one. */
export function spawnInGroup(
  command: string,
  args: string[],
  options: Omit<SpawnOptions, 'detached'>,
): ChildProcess {
  installGuard();
  const tag = `${process.pid}-${randomBytes(8).toString('hex')}`;
  const env = { ...(options.env ?? process.env), [PROCESS_TAG_VARIABLE]: tag };
  const child = spawn(command, args, { ...options, env, detached: true });
  if (child.pid !== undefined) track(child, tag);
  return child;
}

/** Sends `signal` to the child's whole process group and tree. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  const group = live.get(child);
  if (!group && exited(child)) return;
  signalGroupId(child.pid, signal);
  group?.tree.signal(signal);
}

/**
 * Terminates the child's whole tree: SIGTERM, then SIGKILL after `graceMs`. Resolves once
 * the leader has exited and no process of the tree is left (immediately if it never started
 * or is already gone).
 */
export function terminateGroup(child: ChildProcess, graceMs = DEFAULT_GRACE_MS): Promise<void> {
  const group = live.get(child);
  if (!group) return Promise.resolve();
  group.stopping ??= stopTree(group, graceMs);
  return group.stopping;
}

/** PIDs of every live child group leader (for tests and diagnostics). */
export function liveChildPids(): number[] {
  return [...live.keys()]
    .filter((child) => !exited(child))
    .map((child) => child.pid)
    .filter((pid): pid is number => pid !== undefined);
}

/** The watchdog process's PID, once one runs (tests). */
export function watchdogPid(): number | undefined {
  return watchdog.pid;
}

/**
 * PIDs of every running process of the child's tree (its leader first, while it runs);
 * `tagged: false` leaves out orphans, found only by a look at every process of the machine.
 */
export function treePids(child: ChildProcess, tagged = true): number[] {
  const group = live.get(child);
  if (!group) return [];
  const pids = group.tree.members(tagged).map((entry) => entry.pid);
  return child.pid !== undefined && pids.includes(child.pid)
    ? [child.pid, ...pids.filter((pid) => pid !== child.pid)]
    : pids;
}
