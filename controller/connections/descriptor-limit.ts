// How many descriptors this process may open: the soft RLIMIT_NOFILE. Node has no API for
// it; Linux shows it in /proc/self/limits (after Node raised the soft limit to the hard one
// at startup, so this is the figure that counts). Elsewhere, a conservative fallback.
import { readFileSync } from 'node:fs';

/** What most systems give a process when nothing is known (macOS, a sandbox without /proc). */
export const FALLBACK_DESCRIPTOR_LIMIT = 1024;

/** The "Max open files" soft limit in a /proc/<pid>/limits text, or undefined. */
export function parseOpenFilesLimit(limits: string): number | undefined {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
  const value = Number(soft);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

export function descriptorLimit(read: () => string = readProcLimits): number {
  try {
    return parseOpenFilesLimit(read()) ?? FALLBACK_DESCRIPTOR_LIMIT;
  } catch {
    return FALLBACK_DESCRIPTOR_LIMIT;
  }
}

function readProcLimits(): string {
  return readFileSync('/proc/self/limits', 'utf8');
}
