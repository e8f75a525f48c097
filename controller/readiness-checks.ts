// What /readyz checks: whether this controller replica can serve MCP requests now. Only what
// the request path cannot do without makes it unready (a registry, a runtime that sees its
// pods, not shutting down); the store (events, history: written off the request path) and the
// coordination store (each replica then decides alone) make it `degraded`, still in its
// Service, so an outage of either does not take every gateway pod out of service while MCP
// still works. Each dependency's state is also the gauge mcpfleet_dependency_up.
import type { Coord } from './coord/coord.ts';
import type { Fleet } from './fleet/fleet.ts';
import type { Readiness, ReadinessCheck } from './http-server.ts';
import type { Store } from './store/store.ts';

/** A dependency that does not answer within this long counts as down (probes time out). */
const PROBE_TIMEOUT_MS = 2_000;

export interface ReadinessSources {
  store: Store;
  coord: Coord;
  /** Servers in the registry in force. */
  servers: () => number;
  fleet: Fleet;
  /** The controller is shutting down: it takes no new requests. */
  shuttingDown: () => boolean;
}

export function readinessChecks(sources: ReadinessSources): Readiness {
  const { store, coord, fleet } = sources;
  return async () => {
    const cluster = fleet.runtimeReadiness?.();
    // Side by side: a hung dependency costs the probe its timeout once, not once per check.
    const [storeCheck, coordCheck] = await Promise.all([
      probe(() => store.listEvents({ limit: 1 })),
      probe(() => coord.lastActivity('readyz')),
    ]);
    const checks: Record<string, ReadinessCheck & { servers?: number }> = {
      store: { ...storeCheck, degradable: true },
      coord: { ...coordCheck, degradable: true },
      registry: { ok: true, servers: sources.servers() },
      ...(cluster ? { cluster } : {}),
    };
    if (sources.shuttingDown())
      checks.shutdown = { ok: false, error: 'the controller is shutting down' };
    return checks;
  };
}

async function probe(what: () => Promise<unknown>): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      what(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`)),
          PROBE_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
