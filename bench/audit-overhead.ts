// What the audit log costs the gateway: tools/call (echo) throughput, latency and controller CPU
// through a controller that records every call (batched writes to its store) against an
// identical one that records nothing (StartOptions.audit false), same run. Every request is a
// tools/call, so each makes an audit record: the worst case. At the end the records written are
// counted against the calls made (none may be dropped). Prints JSON.
//
//   node bench/audit-overhead.ts [--requests 12000] [--rounds 12] [--concurrency 8]
//                                [--database-url postgres://...] [--no-pin] [--twin]
//
// Each controller runs in a process of its own (bench/support/gateway-child.ts), so the writer's
// work is charged to the controller that does it. The store: embedded PGlite (what `npm start`
// uses), or a real PostgreSQL with --database-url (each controller in a schema of its own,
// dropped after). Paired rounds in an order that alternates, as bench/proxy-overhead.ts does;
// controller CPU per request is the steadiest figure on a busy machine. The writer is also
// measured alone, in this process: what record() costs a request, and what writing costs per
// record.
//
// Target (issue 10): the gateway does not slow — throughput with audit >= 0.95x without,
// <= 0.1 ms added at p50, nothing dropped.
import { rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { AuditWriter } from '../controller/audit/audit-writer.ts';
import { silentLogger } from '../controller/observability/log.ts';
import { openStore } from '../controller/store/open-store.ts';
import type { Store } from '../controller/store/store.ts';
import { sampleRecord } from '../test/controller/audit/sample-record.ts';
import { schemaUrl } from '../test/controller/store/postgres-schema.ts';
import { EchoTarget } from './support/mcp-echo-target.ts';
import {
  BENCH_SLUG,
  benchRegistry,
  startGatewayProcess,
  type GatewayProcess,
} from './support/gateway-process.ts';
import { childOf, pinBackendsApart } from './support/process-cpu.ts';
import { median, percentiles, round } from './support/stats.ts';

const ALL_MODES = ['off', 'on', 'twin'] as const;
type Mode = (typeof ALL_MODES)[number];

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '12000' },
    rounds: { type: 'string', default: '12' },
    concurrency: { type: 'string', default: '8' },
    'database-url': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    // A second controller without audit: what two identical ones differ by (the noise floor).
    twin: { type: 'boolean', default: false },
  },
});
const MODES: readonly Mode[] = values.twin ? ALL_MODES : ['off', 'on'];

/** A schema of its own in the given PostgreSQL, and the URL that uses it. */
async function freshSchemaUrl(databaseUrl: string, schema: string): Promise<string> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await admin.end();
  return schemaUrl(schema, databaseUrl);
}

async function metricSum(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

/**
 * The writer alone: the CPU of record() (what a request pays, in its reply's 'close' handler)
 * and of writing the batches (the INSERT's text and parameters, the driver or the IPC to the
 * embedded database).
 */
async function writerCost(store: Store, count: number) {
  const writer = new AuditWriter({
    store,
    logger: silentLogger(),
    flushMs: 3_600_000,
    maxBuffered: count,
  });
  // Made first: what a request pays is record(), the record itself it has made anyway.
  const records = Array.from({ length: count }, (_, i) =>
    sampleRecord({ at: Date.now(), server: BENCH_SLUG, requestId: `r${i}` }),
  );
  const cpu0 = process.cpuUsage();
  for (const record of records) writer.record(record);
  const recordCpu = process.cpuUsage(cpu0);
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  await writer.close();
  const writeMs = performance.now() - t1;
  const writeCpu = process.cpuUsage(cpu1);
  return {
    records: count,
    recordCpuNsPerCall: Math.round(((recordCpu.user + recordCpu.system) * 1000) / count),
    writeCpuUsPerRecord: round((writeCpu.user + writeCpu.system) / count, 2),
    writeRecordsPerSecond: Math.round(count / (writeMs / 1000)),
    written: writer.counts.written,
  };
}

async function main(): Promise<void> {
  const requests = Number(values.requests);
  const rounds = Number(values.rounds);
  const concurrency = Number(values.concurrency);
  const databaseUrl = values['database-url'];
  const registry = await benchRegistry('mcpfleet-bench-audit-');
  const schemas = MODES.map((mode) => `mcpfleet_bench_audit_${process.pid}_${mode}`);
  const loadBefore = loadavg().map((l) => round(l, 2));
  const cpus = availableParallelism();
  const controllers: Partial<Record<Mode, GatewayProcess>> = {};
  try {
    for (const [i, mode] of MODES.entries())
      controllers[mode] = await startGatewayProcess(registry, {
        // BENCH_CPU_PROFILE=<dir> writes a V8 CPU profile of each controller process there.
        cpuProfileDir: process.env.BENCH_CPU_PROFILE,
        ...(mode === 'on' ? {} : { audit: false as const }),
        ...(databaseUrl ? { databaseUrl: await freshSchemaUrl(databaseUrl, schemas[i]!) } : {}),
      });
    const targets: Partial<Record<Mode, EchoTarget>> = {};
    for (const mode of MODES) targets[mode] = await EchoTarget.open(controllers[mode]!.endpoint);
    const placement = values['no-pin']
      ? 'unpinned'
      : pinBackendsApart(
          await Promise.all(
            MODES.map((m) => childOf(controllers[m]!.child.pid!, 'server-everything')),
          ),
          MODES.map((m) => controllers[m]!.child.pid),
        );

    for (const mode of MODES) await targets[mode]!.run(2000, concurrency); // JIT, pools, batches
    const per = Math.ceil(requests / rounds);
    const measured = Object.fromEntries(
      MODES.map((m) => [
        m,
        { latencies: [] as number[], ms: 0, cpuUs: 0, roundThroughput: [] as number[] },
      ]),
    ) as Record<
      Mode,
      { latencies: number[]; ms: number; cpuUs: number; roundThroughput: number[] }
    >;
    for (let r = 0; r < rounds; r++) {
      // Rotated, so each mode runs first, middle and last alike.
      for (const mode of MODES.map((_, i) => MODES[(i + r) % MODES.length]!)) {
        const m = measured[mode];
        const cpu0 = await controllers[mode]!.cpuUs();
        const t0 = performance.now();
        m.latencies.push(...(await targets[mode]!.run(per, concurrency)));
        const ms = performance.now() - t0;
        m.ms += ms;
        m.roundThroughput.push(per / (ms / 1000));
        m.cpuUs += (await controllers[mode]!.cpuUs()) - cpu0;
      }
    }
    for (const target of Object.values(targets)) await target.close();

    // The calls through the audited controller (the session's initialize is not a tools/call);
    // the last batch goes at the next flush: wait for it, then count.
    const calls = 2000 + rounds * per;
    const on = controllers.on!.url;
    const deadline = Date.now() + 30_000;
    while (
      (await metricSum(on, 'mcpfleet_audit_records_written_total')) < calls &&
      Date.now() < deadline
    )
      await new Promise((resolve) => setTimeout(resolve, 200));
    const records = {
      calls,
      written: await metricSum(on, 'mcpfleet_audit_records_written_total'),
      dropped: await metricSum(on, 'mcpfleet_audit_records_dropped_total'),
    };

    const writerSchema = `mcpfleet_bench_audit_${process.pid}_writer`;
    if (databaseUrl) schemas.push(writerSchema);
    const alone = await openStore(
      databaseUrl
        ? { databaseUrl: await freshSchemaUrl(databaseUrl, writerSchema) }
        : { dataDir: 'memory://' },
    );
    const writer = await writerCost(alone, 50_000).finally(() => alone.close());

    const summary = (mode: Mode) => {
      const m = measured[mode];
      return {
        requests: m.latencies.length,
        throughput: round(m.latencies.length / (m.ms / 1000), 1),
        ...percentiles(m.latencies),
        cpuPerRequestUs: round(m.cpuUs / m.latencies.length, 1),
      };
    };
    const off = summary('off');
    const withAudit = summary('on');
    /** `mode` against audit off. */
    const compare = (mode: Mode) => {
      const other = summary(mode);
      const ratios = measured[mode].roundThroughput.map(
        (t, i) => t / measured.off.roundThroughput[i]!,
      );
      return {
        throughputRatio: round(other.throughput / off.throughput, 3),
        roundThroughputRatios: ratios.map((x) => round(x, 3)),
        medianRoundThroughputRatio: round(median(ratios), 3),
        addedP50Ms: round(other.p50Ms - off.p50Ms, 3),
        addedP99Ms: round(other.p99Ms - off.p99Ms, 3),
        addedCpuPerRequestUs: round(other.cpuPerRequestUs - off.cpuPerRequestUs, 1),
      };
    };
    const audit = compare('on');
    console.log(
      JSON.stringify(
        {
          bench: 'audit-overhead',
          backend: `registry ${BENCH_SLUG} (server-everything streamableHttp), tools/call echo`,
          store: databaseUrl ? 'PostgreSQL' : 'embedded PGlite (child process)',
          concurrency,
          rounds,
          requestsPerRound: per,
          node: process.version,
          modes: { off, on: withAudit, ...(values.twin ? { twin: summary('twin') } : {}) },
          audit,
          ...(values.twin ? { noiseFloor: compare('twin') } : {}),
          records,
          writer,
          target: { throughputRatio: '>= 0.95', addedP50Ms: '<= 0.1', dropped: 0 },
          pass:
            audit.medianRoundThroughputRatio >= 0.95 &&
            audit.addedP50Ms <= 0.1 &&
            records.dropped === 0 &&
            records.written === records.calls,
          cpus,
          placement,
          loadAverage: { before: loadBefore, after: loadavg().map((l) => round(l, 2)) },
        },
        null,
        2,
      ),
    );
  } finally {
    for (const controller of Object.values(controllers)) await controller.close();
    await rm(registry, { recursive: true, force: true });
    if (databaseUrl) {
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  }
}

await main();
