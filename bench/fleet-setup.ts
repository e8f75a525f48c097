// Builds a real fleet for benchmarks: registry specs, in-memory PGlite, in-process coord.
import { loadRegistry } from '../registry/catalog/index.ts';
import type { ServerSpec, WorkloadSpec } from '../registry/catalog/spec.ts';
import { createLocalFleet, type LocalFleetOptions } from '../controller/fleet/local-fleet.ts';
import { MemoryCoord } from '../controller/coord/memory.ts';
import { openStore } from '../controller/store/open-store.ts';
import { Metrics } from '../controller/observability/metrics.ts';
import { silentLogger } from '../controller/observability/log.ts';
import { ROOT } from './mcp-load.ts';

export async function registrySpec(slug: string): Promise<WorkloadSpec> {
  const { specs } = await loadRegistry(`${ROOT}registry/servers`);
  const spec = specs.find((s) => s.slug === slug);
  if (!spec || spec.kind !== 'workload') throw new Error(`registry has no workload "${slug}"`);
  return spec;
}

export async function benchFleet(specs: ServerSpec[], options: Partial<LocalFleetOptions> = {}) {
  const store = options.store ?? (await openStore({ dataDir: 'memory://' }));
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
  return { fleet, metrics };
}
