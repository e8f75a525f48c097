// Whether a child has started serving: it answered an `initialize` with a result. The line
// between a failed start (the server cannot start: counted towards `failed`) and a crash of
// one session's process (that session ends, nothing else). Kept beside the children, not in
// them, so whoever reads an answer (a session, the check, the sessionless pool) can say so.
import type { StdioChild } from './stdio-child.ts';

const started = new WeakSet<StdioChild>();
const listeners = new WeakMap<StdioChild, () => void>();

/** `child` answered an initialize with a result; the first time, its listener hears it. */
export function markStarted(child: StdioChild): void {
  if (started.has(child)) return;
  started.add(child);
  listeners.get(child)?.();
  listeners.delete(child);
}

export function hasStarted(child: StdioChild): boolean {
  return started.has(child);
}

/** Calls `listener` once `child` has started. */
export function whenStarted(child: StdioChild, listener: () => void): void {
  listeners.set(child, listener);
}
