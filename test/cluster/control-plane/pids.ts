// Whether a process runs, reading /proc: a zombie counts as gone (kill(pid, 0) says it is there,
// and an orphan's zombie can linger under a PID 1 that reaps slowly).
import { readFileSync } from 'node:fs';

export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
