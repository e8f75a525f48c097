// One real control plane per mocha process, shared by the cluster tests: started on first use
// (building the binaries if this machine has none yet), stopped by a root-level `after` hook,
// and its processes killed at process exit whatever happens (see processes.ts).
import { startControlPlane, type ControlPlane } from '../control-plane/control-plane.ts';

let shared: Promise<ControlPlane> | undefined;

/**
 * The process-wide control plane. Call it from a `before` hook with a generous timeout: the
 * first run on a machine builds the binaries (minutes); later starts take about 10 s. Tests
 * share it, so each uses its own namespaces and names and must not stop it; restart() is fine.
 */
export function sharedControlPlane(): Promise<ControlPlane> {
  shared ??= startControlPlane().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

/** Stops the shared control plane if one was started; the next call starts a new one. */
export async function stopSharedControlPlane(): Promise<void> {
  const plane = shared;
  shared = undefined;
  if (plane) await (await plane.catch(() => undefined))?.stop();
}

// Evaluated once, when the first test file importing this module loads: mocha then registers it
// on the root suite, so it runs after every test file of this process.
if (typeof after === 'function') {
  after(async function () {
    this.timeout(60_000);
    await stopSharedControlPlane();
  });
}
