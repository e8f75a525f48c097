// Burst: N concurrent requests at a sleeping stdio server. Each request acquires through
// the fleet (held while it wakes) and then makes a real MCP call (tools/list,
// sessionless) through the bridge. Reports wakes (must be 1), errors (must be 0) and
// latency percentiles. Usage: node bench/burst.ts [requests=1000]
import { rpc, summarize } from './mcp-load.ts';
import { benchFleet, registrySpec } from './fleet-setup.ts';

const REQUESTS = Number(process.argv[2] ?? 1000);
const spec = await registrySpec('everything');
const { fleet, metrics } = await benchFleet([spec]);
if (fleet.status('everything')?.state !== 'asleep') throw new Error('expected a sleeping server');

const latencies: number[] = [];
let errors = 0;
const firstErrors: string[] = [];
const started = performance.now();
await Promise.all(
  Array.from({ length: REQUESTS }, async () => {
    const t0 = performance.now();
    try {
      const lease = await fleet.acquire('everything', { kind: 'request' });
      try {
        await rpc({ url: lease.upstream.url, id: undefined }, 'tools/list');
      } finally {
        lease.release();
      }
      latencies.push(performance.now() - t0);
    } catch (err) {
      errors++;
      if (firstErrors.length < 3) firstErrors.push((err as Error).message);
    }
  }),
);
const totalMs = Math.round(performance.now() - started);
const wakes = (await metrics.wakes.get()).values.reduce((sum, v) => sum + v.value, 0);
const wakeEvents = (await fleet.events({ server: 'everything', type: 'wake' })).length;
await fleet.stop();
console.log(
  JSON.stringify(
    {
      benchmark: 'burst',
      server: 'everything (stdio)',
      requests: REQUESTS,
      wakes,
      wakeEvents,
      errors,
      firstErrors,
      totalMs,
      latency: summarize(latencies),
      target: { wakes: 1, errors: 0 },
    },
    null,
    2,
  ),
);
