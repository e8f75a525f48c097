// What the audit log costs the gateway: tools/call (echo) throughput, latency and CPU through
// a controller that records every call (batched writes to its store) against an identical one
// that records nothing (StartOptions.audit false), same run, paired rounds in alternating
// order so drift in the machine's load hits both alike. Every request is a tools/call, so each
// one makes an audit record: the worst case. At the end the records written are counted
// against the calls made (nothing may be dropped). Prints JSON.
//
//   node bench/audit-overhead.ts [--requests 12000] [--rounds 6] [--concurrency 8]
//                                [--database-url postgres://...]
//
// The store: embedded PGlite in its child process (what `npm start` uses), or a real
// PostgreSQL with --database-url (each controller in a schema of its own, dropped after).
// Both controllers and the load generator share this process (the load generator is
// bench/raw-http-load.ts, as cheap as a client gets), so their CPU per request is this
// process's: the difference between the two modes is what recording costs the gateway.
//
// Target (issue 10): the gateway does not slow — throughput with audit >= 0.95x without,
// <= 0.1 ms added at p50.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { silentLogger } from '../controller/observability/log.ts';
import { startController, type RunningController } from '../controller/start.ts';
import { AuditWriter } from '../controller/audit/audit-writer.ts';
import { openStore } from '../controller/store/open-store.ts';
import { rawPostLoad } from './raw-http-load.ts';

const SLUG = 'everything-http';
const PROTOCOL = '2025-11-25';
const MODES = ['off', 'on'] as const;
type Mode = (typeof MODES)[number];

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '12000' },
    rounds: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '8' },
    'database-url': { type: 'string' },
  },
});

const ECHO = {
  body: (id: number) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: `m${id}` } },
    }),
  check: (text: string, id: number) => text.includes(`Echo: m${id}"`),
};

interface Target {
  controller: RunningController;
  endpoint: string;
  headers: Record<string, string>;
}

async function openTarget(controller: RunningController): Promise<Target> {
  const endpoint = `${controller.url}/servers/${SLUG}/mcp`;
  const base = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': PROTOCOL,
  };
  const init = await fetch(endpoint, {
    method: 'POST',
    headers: base,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: PROTOCOL,
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    }),
  });
  await init.text();
  const session = init.headers.get('mcp-session-id');
  if (!session) throw new Error(`initialize answered ${init.status} without a session`);
  const headers = { ...base, 'mcp-session-id': session };
  const initialized = await fetch(endpoint, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await initialized.text();
  return { controller, endpoint, headers };
}

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function at(ordered: number[], q: number): number {
  return ordered[Math.min(ordered.length - 1, Math.floor(q * ordered.length))] ?? NaN;
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$`, 'gm'))]
    .map((m) => Number(m[1]))
    .reduce((a, b) => a + b, 0);
}

/**
 * The writer alone, steadier than any timing through the gateway: the CPU of record() (what a
 * request pays, in its 'close' handler) and of writing the batches (this process's share: the
 * INSERT's text and parameters, the driver or the IPC to the embedded database).
 */
async function writerCost(store: Awaited<ReturnType<typeof openStore>>, count: number) {
  const writer = new AuditWriter({
    store,
    logger: silentLogger(),
    flushMs: 3_600_000,
    batchRows: 500,
    maxBuffered: count,
  });
  const record = {
    action: 'tools/call' as const,
    principal: 'key:0123456789abcdef',
    principalName: 'ci-bot',
    server: SLUG,
    tool: 'echo',
    target: null,
    decision: 'allowed' as const,
    reason: null,
    status: 200,
    completed: true,
    durationMs: 1.25,
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) writer.record({ ...record, at: Date.now(), requestId: `r${i}` });
  const recordNs = ((performance.now() - t0) * 1e6) / count;
  const recordCpu = process.cpuUsage(cpu0);
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  await writer.close();
  const writeMs = performance.now() - t1;
  const writeCpu = process.cpuUsage(cpu1);
  return {
    records: count,
    recordNsPerCall: Math.round(recordNs),
    recordCpuNsPerCall: Math.round(((recordCpu.user + recordCpu.system) * 1000) / count),
    writeCpuUsPerRecord: r3((writeCpu.user + writeCpu.system) / count),
    writeRecordsPerSecond: Math.round(count / (writeMs / 1000)),
    written: writer.counts.written,
  };
}

async function main(): Promise<void> {
  const requests = Number(values.requests);
  const rounds = Number(values.rounds);
  const concurrency = Number(values.concurrency);
  const databaseUrl = values['database-url'];
  const registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-bench-audit-'));
  await cp(
    path.resolve(import.meta.dirname, '../registry/servers', SLUG),
    path.join(registry, SLUG),
    {
      recursive: true,
    },
  );
  const schemas: string[] = [];
  const storeOf = async (mode: Mode) => {
    if (!databaseUrl) return { dataDir: 'memory://' };
    const schema = `mcpfleet_bench_audit_${process.pid}_${mode}`;
    schemas.push(schema);
    const url = new URL(databaseUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await admin.end();
    return { databaseUrl: url.toString() };
  };
  const scratchSchema = async () => {
    const schema = `mcpfleet_bench_audit_${process.pid}_writer`;
    schemas.push(schema);
    return schema;
  };
  const controllers: RunningController[] = [];
  const loadBefore = loadavg().map((l) => r3(l));
  try {
    const targets = {} as Record<Mode, Target>;
    for (const mode of MODES) {
      const controller = await startController({
        registryDir: registry,
        port: 0,
        ...(await storeOf(mode)),
        audit: mode === 'on' ? {} : false,
        logger: silentLogger(),
      });
      controllers.push(controller);
      const lease = await controller.fleet.acquire(SLUG, { kind: 'request' });
      lease.release();
      targets[mode] = await openTarget(controller);
    }
    let nextId = 10;
    const run = (mode: Mode, count: number, c: number) =>
      rawPostLoad(targets[mode].endpoint, targets[mode].headers, ECHO, count, c, () => nextId++);
    for (const mode of MODES) await run(mode, 2000, concurrency); // warm: JIT, pools, batches

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
      for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
        const m = measured[mode];
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        m.latencies.push(...(await run(mode, per, concurrency)));
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        m.ms += ms;
        m.cpuUs += cpu.user + cpu.system;
        m.roundThroughput.push(per / (ms / 1000));
      }
    }
    const calls = 2000 + rounds * per;
    // Whatever is still buffered goes at the next flush (1 s): wait for it, then count.
    const on = targets.on.controller.url;
    const deadline = Date.now() + 30_000;
    while (
      (await metric(on, 'mcpfleet_audit_records_written_total')) < calls &&
      Date.now() < deadline
    )
      await new Promise((resolve) => setTimeout(resolve, 200));
    const written = await metric(on, 'mcpfleet_audit_records_written_total');
    const dropped = await metric(on, 'mcpfleet_audit_records_dropped_total');

    const micro = await openStore(
      databaseUrl ? { databaseUrl, schema: await scratchSchema() } : { dataDir: 'memory://' },
    );
    const writer = await writerCost(micro, 50_000).finally(() => micro.close());

    const summary = (mode: Mode) => {
      const m = measured[mode];
      const ordered = sorted(m.latencies);
      return {
        requests: m.latencies.length,
        throughput: Math.round((m.latencies.length / (m.ms / 1000)) * 10) / 10,
        p50Ms: r3(at(ordered, 0.5)),
        p90Ms: r3(at(ordered, 0.9)),
        p99Ms: r3(at(ordered, 0.99)),
        cpuPerRequestUs: Math.round((m.cpuUs / m.latencies.length) * 10) / 10,
      };
    };
    const off = summary('off');
    const withAudit = summary('on');
    const roundRatios = measured.on.roundThroughput.map((t, i) =>
      r3(t / measured.off.roundThroughput[i]!),
    );
    const comparison = {
      throughputRatio: r3(withAudit.throughput / off.throughput),
      roundThroughputRatios: roundRatios,
      medianRoundThroughputRatio: sorted(roundRatios)[Math.floor(roundRatios.length / 2)],
      addedP50Ms: r3(withAudit.p50Ms - off.p50Ms),
      addedP99Ms: r3(withAudit.p99Ms - off.p99Ms),
      addedCpuPerRequestUs: Math.round((withAudit.cpuPerRequestUs - off.cpuPerRequestUs) * 10) / 10,
    };
    console.log(
      JSON.stringify(
        {
          bench: 'audit-overhead',
          backend: `registry ${SLUG} (server-everything streamableHttp), tools/call echo`,
          store: databaseUrl ? 'PostgreSQL' : 'embedded PGlite (child process)',
          concurrency,
          rounds,
          requestsPerRound: per,
          node: process.version,
          modes: { off, on: withAudit },
          audit: comparison,
          records: { calls, written, dropped },
          writer,
          target: { throughputRatio: '>= 0.95', addedP50Ms: '<= 0.1', dropped: 0 },
          pass:
            comparison.throughputRatio >= 0.95 &&
            comparison.addedP50Ms <= 0.1 &&
            dropped === 0 &&
            written === calls,
          loadAverage: { before: loadBefore, after: loadavg().map((l) => r3(l)) },
        },
        null,
        2,
      ),
    );
  } finally {
    for (const controller of controllers) await controller.close();
    await rm(registry, { recursive: true, force: true });
    if (databaseUrl && schemas.length > 0) {
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  }
}

await main();
