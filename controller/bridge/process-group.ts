// Child processes that cannot outlive us. Each child is spawned as the leader of its own
// process group (detached), so killing `-pid` also takes down anything it started (npx →
// node, uvx → python). Every live group is remembered; on process exit or a terminating
// signal they are all killed synchronously, so a crashed or interrupted controller leaves
// no orphans behind.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const liveGroups = new Set<ChildProcess>();
let guardInstalled = false;

function killGroupNow(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group may already be gone (ESRCH); fall back to the leader itself.
    try {
      child.kill(signal);
    } catch {
      /* already exited */
    }
  }
}

function killAllNow(): void {
  for (const child of liveGroups) killGroupNow(child, 'SIGKILL');
  liveGroups.clear();
}

function onTerminatingSignal(signal: NodeJS.Signals): void {
  killAllNow();
  // If nobody else handles this signal, behave as Node would without us: die by it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, onTerminatingSignal);
  }
}

/** Spawns `command` in a new process group that is killed if this process exits. */
export function spawnInGroup(
  command: string,
  args: string[],
  options: Omit<SpawnOptions, 'detached'>,
): ChildProcess {
  installGuard();
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid !== undefined) {
    liveGroups.add(child);
    child.once('exit', () => liveGroups.delete(child));
  }
  return child;
}

/** Sends `signal` to the child's whole process group. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  killGroupNow(child, signal);
}

/**
 * Terminates the group: SIGTERM, then SIGKILL after `graceMs`. Resolves once the leader
 * has exited (immediately if it never started or is already gone).
 */
export function terminateGroup(child: ChildProcess, graceMs = 1500): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => killGroupNow(child, 'SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      // Whatever the leader left in its group goes with it.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* group empty */
        }
      }
      resolve();
    });
    killGroupNow(child, 'SIGTERM');
  });
}

/** PIDs of every live child group leader (for tests and diagnostics). */
export function liveChildPids(): number[] {
  return [...liveGroups]
    .map((child) => child.pid)
    .filter((pid): pid is number => pid !== undefined);
}
