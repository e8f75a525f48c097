// A real controller in a process of its own for the proxy benches (registry spec
// `everything-http`, local fleet, embedded store), its server woken; it tells its parent its
// port and the backend's own URL over IPC, answers {cmd: 'cpu'} with its CPU usage, and
// closes when the parent disconnects.
//
//   started by gateway-process.ts: gateway-child.ts <registryDir> [flags]
//
// --issuer <url>: MCP endpoints and the API ask for JWT access tokens of that issuer (scope
// `mcp`; its `bench-admins` group maps to admin). --key-hashing-secret <s>: API keys too.
// --no-audit: no audit log (bench/audit-overhead.ts compares). --database-url <url>: a real
// PostgreSQL instead of the embedded store.
// BENCH_BARE_GATEWAY=1: the same gateway code in front of the same backend with a trivial
// fleet, to separate the gateway's own cost from the fleet's per-request bookkeeping.
import { parseArgs } from 'node:util';
import { createControllerServer } from '../../controller/http-server.ts';
import { silentLogger } from '../../controller/observability/log.ts';
import { Metrics } from '../../controller/observability/metrics.ts';
import { startController } from '../../controller/start.ts';
import { BENCH_ADMINS, BENCH_SLUG, type GatewayChildReady } from './gateway-process.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    issuer: { type: 'string' },
    'key-hashing-secret': { type: 'string' },
    'no-audit': { type: 'boolean' },
    'database-url': { type: 'string' },
  },
});

const controller = await startController({
  registryDir: positionals[0]!,
  port: 0,
  ...(values['database-url'] ? { databaseUrl: values['database-url'] } : { dataDir: 'memory://' }),
  ...(values['no-audit'] ? { audit: false as const } : {}),
  logger: silentLogger(),
  ...(values.issuer
    ? {
        auth: {
          issuers: [values.issuer],
          requiredScopes: ['mcp'],
          roleMap: { admin: [BENCH_ADMINS] },
        },
      }
    : {}),
  ...(values['key-hashing-secret'] ? { keyHashingSecret: values['key-hashing-secret'] } : {}),
});
const lease = await controller.fleet.acquire(BENCH_SLUG, { kind: 'request' });
lease.release();
let port = controller.port;
if (process.env.BENCH_BARE_GATEWAY) {
  const upstream = lease.upstream;
  const fleet = {
    ...controller.fleet,
    has: (slug: string) => slug === BENCH_SLUG,
    acquire: async () => ({ upstream, signal: new AbortController().signal, release() {} }),
    sessionOpened() {},
    sessionClosed() {},
  } as unknown as typeof controller.fleet;
  const bare = createControllerServer({
    fleet,
    metrics: new Metrics(),
    logger: silentLogger(),
    listenHost: '127.0.0.1',
  });
  await new Promise<void>((resolve) => bare.server.listen(0, '127.0.0.1', resolve));
  const address = bare.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
}
process.on('message', (m) => {
  if ((m as { cmd?: string }).cmd === 'cpu') process.send!({ cpu: process.cpuUsage() });
});
process.send!({ port, upstreamUrl: lease.upstream.url } satisfies GatewayChildReady);
process.once('disconnect', () => void controller.close().then(() => process.exit(0)));
