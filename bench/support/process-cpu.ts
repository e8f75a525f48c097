// Where the bench's processes run and what CPU they spend (Linux: taskset and /proc; elsewhere
// the benches run unpinned and report 0 CPU for processes other than their own children).
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

/** Pins each process (all its threads) to one CPU with taskset; says what it did. */
export function pin(placements: Array<[number | undefined, number]>, description: string): string {
  if (availableParallelism() < 2) return 'unpinned (one CPU)';
  try {
    for (const [pid, cpu] of placements) {
      if (pid === undefined) return 'unpinned (backend process not found)';
      execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    }
  } catch {
    return 'unpinned (taskset failed or missing)';
  }
  return `pinned: ${description}`;
}

/** The benches' placement: the backends on CPU 0; the controllers and this process on CPU 1. */
export function pinBackendsApart(
  backends: readonly (number | undefined)[],
  controllers: readonly (number | undefined)[],
): string {
  return pin(
    [
      ...backends.map((pid): [number | undefined, number] => [pid, 0]),
      ...controllers.map((pid): [number | undefined, number] => [pid, 1]),
      [process.pid, 1],
    ],
    'backends on CPU 0; controllers and load generator on CPU 1',
  );
}

/** The child process of `pid` whose command line mentions `marker` (a backend). */
export async function childOf(pid: number, marker: string): Promise<number | undefined> {
  try {
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== pid) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(marker)) return Number(entry);
    }
  } catch {
    // not Linux
  }
  return undefined;
}

/** User + system CPU of a process in µs, from /proc (clock ticks of 10 ms). */
export async function procCpuUs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000 || 0;
}
