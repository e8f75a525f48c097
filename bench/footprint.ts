// Footprint: controller RSS with 1,000 registered servers, idle; then the extra RSS while
// 10,000 requests are held for a server that is waking. Measured twice, each in a fresh
// process with --expose-gc: with a real PostgreSQL store (DATABASE_URL, default the local
// test database: how the controller runs in a cluster) and with the embedded PGlite store
// (the `npm start` default, here on a fresh temporary data directory). PGlite runs in a
// process of its own (controller/store/embedded-database.ts), so the controller's RSS and
// the database process's RSS (VmRSS from /proc; Linux only, null elsewhere) are reported
// apart. The targets are the controller's: idle <= 150 MB, held extra <= 50 MB.
// Usage: node --expose-gc bench/footprint.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkloadSpec } from '../registry/catalog/spec.ts';
import { openEmbeddedDatabase } from '../controller/store/embedded-database.ts';
import { openStore } from '../controller/store/open-store.ts';
import { SqlStore } from '../controller/store/sql-store.ts';
import { benchFleet, registrySpec } from './fleet-setup.ts';
import { ROOT } from './mcp-load.ts';

const mode = process.argv[2];
if (mode !== 'pglite' && mode !== 'postgres') {
  const run = (which: string) =>
    JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), which], {
        encoding: 'utf8',
      }),
    ) as unknown;
  console.log(
    JSON.stringify(
      { benchmark: 'footprint', postgres: run('postgres'), embeddedPglite: run('pglite') },
      null,
      2,
    ),
  );
  process.exit(0);
}

const SERVERS = 1000;
const HELD = 10_000;
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc;
async function settledRss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return process.memoryUsage().rss;
}
/** Another process's resident set (the embedded database's), from /proc: Linux only. */
function processRssBytes(pid: number): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}
const mbOrNull = (bytes: number | null) => (bytes === null ? null : mb(bytes));

const template = await registrySpec('everything');
const specs: WorkloadSpec[] = Array.from({ length: SERVERS }, (_, i) => ({
  ...template,
  slug: `server-${i}`,
  name: `io.example/server-${i}`,
}));
// One server that never becomes ready, so requests stay held for the measurement.
specs.push({
  ...template,
  slug: 'never-ready',
  health: { ...template.health, startupTimeoutMs: 120_000 },
  env: { FIXTURE_MODE: 'silent' },
  args: [],
  local: {
    runnable: true,
    command: process.execPath,
    args: [`${ROOT}test/fixtures/stdio-server.ts`],
    requires: [],
  },
});
const baseline = await settledRss();
// What openStore does without a URL, keeping hold of the database process's pid.
const dataDir = mode === 'pglite' ? await mkdtemp(join(tmpdir(), 'mcpfleet-footprint-')) : '';
const embedded = mode === 'pglite' ? await openEmbeddedDatabase(join(dataDir, 'pgdata')) : null;
const store = embedded
  ? new SqlStore(embedded)
  : await openStore({
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      schema: `mcpfleet_bench_${process.pid}`,
    });
if (embedded) await store.migrate();
const databaseRss = () => (embedded ? mbOrNull(processRssBytes(embedded.pid)) : undefined);
const { fleet } = await benchFleet(specs, { maxHeldPerServer: HELD, store });
const idle = await settledRss();
const idleDatabaseRss = databaseRss();

const held = Array.from({ length: HELD }, () =>
  fleet.acquire('never-ready', { kind: 'request' }).catch(() => undefined),
);
await new Promise((resolve) => setTimeout(resolve, 500));
const status = fleet.status('never-ready');
const withHeld = await settledRss();
const heldDatabaseRss = databaseRss();
await fleet.stop();
await Promise.all(held);
if (dataDir) await rm(dataDir, { recursive: true, force: true });
console.log(
  JSON.stringify(
    {
      store: mode,
      gcExposed: gc !== undefined,
      processBaselineMb: mb(baseline),
      idle: {
        servers: SERVERS + 1,
        rssMb: mb(idle),
        target: '<= 150 MB',
        ...(embedded ? { embeddedDatabaseRssMb: idleDatabaseRss } : {}),
      },
      held: {
        requests: HELD,
        state: status?.state,
        extraRssMb: mb(withHeld - idle),
        target: '<= 50 MB',
        ...(embedded ? { embeddedDatabaseRssMb: heldDatabaseRss } : {}),
      },
    },
    null,
    2,
  ),
);
