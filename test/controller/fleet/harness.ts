// A real fleet for tests: local runtime, in-memory PGlite store, in-process coord.
import type { Fleet, Lease } from '../../../controller/fleet/fleet.ts';
import { createLocalFleet, type LocalFleetOptions } from '../../../controller/fleet/local-fleet.ts';
import { MemoryCoord } from '../../../controller/coord/memory.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import { Metrics } from '../../../controller/observability/metrics.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import type { ServerSpec } from '../../../registry/catalog/spec.ts';
import type { FleetEvent, Store } from '../../../controller/store/store.ts';
import { waitFor } from '../support/processes.ts';

export interface TestFleet {
  fleet: Fleet;
  metrics: Metrics;
  /** Events of `server` oldest first, once pending writes landed. */
  events(server: string, type?: string): Promise<FleetEvent[]>;
  waitForState(slug: string, state: string, timeoutMs?: number): Promise<void>;
}

let sharedStore: Promise<Store> | undefined;

/**
 * One in-memory PGlite store per test process (it takes seconds to open). Fleets get a
 * view whose close() is a no-op; closeSharedStore() really closes it. Tests use distinct
 * server slugs, so their events do not mix.
 */
function testStore(): Promise<Store> {
  sharedStore ??= openStore({ dataDir: 'memory://' });
  return sharedStore.then(
    (store) =>
      new Proxy(store, {
        get(target, property) {
          if (property === 'close') return async () => {};
          const value = Reflect.get(target, property) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
  );
}

export async function closeSharedStore(): Promise<void> {
  const store = sharedStore;
  sharedStore = undefined;
  await (await store)?.close();
}

export async function startTestFleet(
  specs: ServerSpec[],
  options: Partial<
    Omit<LocalFleetOptions, 'specs' | 'store' | 'coord' | 'metrics' | 'logger'>
  > = {},
): Promise<TestFleet> {
  const store = await testStore();
  const metrics = new Metrics({ processMetrics: false });
  const fleet = createLocalFleet({
    specs,
    store,
    coord: new MemoryCoord(),
    metrics,
    logger: silentLogger(),
    ...options,
  });
  await fleet.start();
  return {
    fleet,
    metrics,
    events: async (server, type) => {
      const list = await fleet.events({ server, ...(type ? { type } : {}), limit: 1000 });
      return list.reverse();
    },
    waitForState: (slug, state, timeoutMs = 10_000) =>
      waitFor(
        () => fleet.status(slug)?.state === state,
        timeoutMs,
        `${slug} to be ${state} (is ${fleet.status(slug)?.state})`,
      ),
  };
}

/** Waits until the store shows `count` events of `type` (writes are fire-and-forget). */
export async function waitForEvents(
  t: TestFleet,
  server: string,
  type: string,
  count: number,
  timeoutMs = 5000,
): Promise<FleetEvent[]> {
  let events: FleetEvent[] = [];
  await waitFor(
    async () => (events = await t.events(server, type)).length >= count,
    timeoutMs,
    `${count} "${type}" event(s) for ${server}`,
  );
  return events;
}

export function release(leases: Lease[]): void {
  for (const lease of leases) lease.release();
}
