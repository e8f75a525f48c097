// One wake's work, whatever the runtime: take the server's wake lock (one wake across controller
// replicas), have the runtime start a replica, and wait for a real MCP round trip through it —
// the runtime's own readiness check when it has one, else initialize + ping. A replica that
// fails to become ready is released ('replace': in a cluster its pod may be serving another
// controller replica, so a failed start here never scales it away).
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import type { Coord } from '../coord/coord.ts';
import { McpProbe } from '../health/mcp-probe.ts';
import { waitUntilReady } from '../health/wait-ready.ts';
import type { Logger } from '../observability/log.ts';
import type { Replica, ReplicaExit, ReplicaHooks, Runtime } from '../runtime/runtime.ts';
import { acquireWakeLock } from './wake-lock.ts';

export interface BringUpOptions {
  spec: ServerSpec;
  runtime: Runtime;
  coord: Coord;
  ownerId: string;
  logger: Logger;
  /** The wake deadline (aborts everything still waiting). */
  signal: AbortSignal;
  deadlineAt: number;
  /** Hooks for the replica; `replicaId` is known once the runtime started it. */
  hooks: (replicaId: () => string) => ReplicaHooks;
}

/** The replica ended before it became ready. */
class ReplicaGoneError extends Error {
  override name = 'ReplicaGoneError';
  readonly exit: ReplicaExit;
  constructor(exit: ReplicaExit) {
    super(`MCP server process ${exit.reason}`);
    this.exit = exit;
  }
}

export async function bringUp(
  options: BringUpOptions,
): Promise<{ replica: Replica; probe: McpProbe }> {
  const { spec, signal } = options;
  const releaseLock = await acquireWakeLock(
    options.coord,
    spec.slug,
    options.ownerId,
    signal,
    options.logger,
  );
  try {
    // A replica scaled away by another controller replica while it was starting (a sleep
    // that crossed this wake) is not a failed start: start again, within the same deadline.
    for (;;) {
      let replicaId = '';
      const replica = await options.runtime.start(
        spec,
        options.hooks(() => replicaId),
        signal,
      );
      replicaId = replica.id;
      const probe = new McpProbe(replica.url, replica.headers);
      try {
        const remaining = Math.max(1, options.deadlineAt - Date.now());
        const died = replica.exited.then((exit) => {
          throw new ReplicaGoneError(exit);
        });
        const ready = replica.ready
          ? replica.ready(signal)
          : waitUntilReady(probe, remaining, signal);
        await Promise.race([ready, died]);
        return { replica, probe };
      } catch (err) {
        void probe.close();
        await replica.stop('replace');
        if (err instanceof ReplicaGoneError && err.exit.sleptElsewhere && !signal.aborted) {
          options.logger.info({ server: spec.slug }, 'scaled away while waking: starting again');
          continue;
        }
        throw err;
      }
    }
  } finally {
    await releaseLock();
  }
}
