// stdio bridge vs `supergateway --stateful` in front of the same stdio server
// (server-everything). Each target runs as its own process; the same raw client opens
// CONCURRENCY sessions (one child each) and calls tools/call echo back to back for
// DURATION_MS. Prints JSON: throughput and latency percentiles per target, and ratios.
// Usage: node bench/bridge-vs-supergateway.ts [concurrency=8] [durationMs=5000]
import {
  ROOT,
  EVERYTHING_BIN,
  closeSession,
  openSession,
  rpc,
  startProcess,
  summarize,
  waitForMcp,
  sleep,
} from './mcp-load.ts';

const CONCURRENCY = Number(process.argv[2] ?? 8);
const DURATION_MS = Number(process.argv[3] ?? 5000);

interface Target {
  name: string;
  port: number;
  start: (port: number) => ReturnType<typeof startProcess>;
}

const targets: Target[] = [
  {
    name: 'mcpfleet-bridge',
    port: 18801,
    start: (port) =>
      startProcess(
        process.execPath,
        [
          `${ROOT}controller/cli/bin.js`,
          'bridge',
          '--port',
          String(port),
          '--host',
          '127.0.0.1',
          '--',
          process.execPath,
          EVERYTHING_BIN,
          'stdio',
        ],
        {
          MCPFLEET_LOG_LEVEL: 'warn',
        },
      ),
  },
  {
    name: 'supergateway-stateful',
    port: 18802,
    start: (port) =>
      startProcess(`${ROOT}node_modules/.bin/supergateway`, [
        '--stateful',
        '--stdio',
        `${process.execPath} ${EVERYTHING_BIN} stdio`,
        '--outputTransport',
        'streamableHttp',
        '--port',
        String(port),
        '--logLevel',
        'none',
      ]),
  },
];

async function measure(url: string) {
  const sessions = await Promise.all(Array.from({ length: CONCURRENCY }, () => openSession(url)));
  // Warm up every session's child.
  await Promise.all(
    sessions.map((s) => rpc(s, 'tools/call', { name: 'echo', arguments: { message: 'warm' } })),
  );
  const latencies: number[] = [];
  let errors = 0;
  const endAt = performance.now() + DURATION_MS;
  const started = performance.now();
  await Promise.all(
    sessions.map(async (session) => {
      while (performance.now() < endAt) {
        const t0 = performance.now();
        try {
          await rpc(session, 'tools/call', { name: 'echo', arguments: { message: 'hello' } });
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  await Promise.all(sessions.map(closeSession));
  return {
    throughputRps: Math.round(latencies.length / elapsedS),
    errors,
    ...summarize(latencies),
  };
}

const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
for (const target of targets) {
  const proc = target.start(target.port);
  const url = `http://127.0.0.1:${target.port}/mcp`;
  try {
    await waitForMcp(url);
    await sleep(300);
    results[target.name] = await measure(url);
  } finally {
    await proc.stop();
  }
}
const ours = results['mcpfleet-bridge']!;
const theirs = results['supergateway-stateful']!;
console.log(
  JSON.stringify(
    {
      benchmark: 'bridge-vs-supergateway',
      server: 'server-everything stdio, tools/call echo',
      concurrency: CONCURRENCY,
      durationMs: DURATION_MS,
      results,
      throughputRatio: Math.round((ours.throughputRps / theirs.throughputRps) * 100) / 100,
      p99Ratio: Math.round((ours.p99Ms / theirs.p99Ms) * 100) / 100,
      targets: { throughputRatio: '>= 2', p99: 'lower than supergateway' },
    },
    null,
    2,
  ),
);
