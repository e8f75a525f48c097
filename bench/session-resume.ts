// A resumed session's first call vs a plain wake, through a real controller (local runtime,
// the registry's `everything` over stdio). Both start from a sleeping server:
//   plain wake: a new client's initialize (wake + initialize through the bridge);
//   resumed:    a tools/call on a session from before the sleep (wake + the gateway's replay
//               of the client's initialize + notifications/initialized + the call).
// Rounds are interleaved so machine noise hits both alike. Prints JSON; target: the resumed
// call adds ≤ 20 ms at p50 on top of the wake. Usage: node bench/session-resume.ts [rounds=9]
import { startController } from '../controller/start.ts';
import { silentLogger } from '../controller/observability/log.ts';
import { summarize } from './mcp-load.ts';
import { registrySpec } from './fleet-setup.ts';

const ROUNDS = Number(process.argv[2] ?? 9);
const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'bench', version: '1' },
  },
};

const controller = await startController({
  specs: [await registrySpec('everything')],
  host: '127.0.0.1',
  port: 0,
  dataDir: 'memory://',
  logger: silentLogger(),
});
const url = `${controller.url}/servers/everything/mcp`;

async function post(body: unknown, sessionId?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      ...HEADERS,
      ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  return res.headers.get('mcp-session-id') ?? undefined;
}

async function openSession(): Promise<string> {
  const id = (await post(INITIALIZE))!;
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, id);
  return id;
}

const echo = {
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/call',
  params: { name: 'echo', arguments: { message: 'x' } },
};
const plain: number[] = [];
const resumed: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  await controller.fleet.sleep('everything');
  let t0 = performance.now();
  const fresh = await openSession();
  plain.push(performance.now() - t0);
  await post(echo, fresh);
  await controller.fleet.sleep('everything');
  t0 = performance.now();
  await post(echo, fresh);
  resumed.push(performance.now() - t0);
}
await controller.close();

function pairedMedian(a: number[], b: number[]): number {
  const d = a.map((x, i) => x - b[i]!).sort((x, y) => x - y);
  return Math.round(d[Math.floor(d.length / 2)]! * 100) / 100;
}
const p = summarize(plain);
const r = summarize(resumed);
console.log(
  JSON.stringify(
    {
      benchmark: 'session-resume',
      server: 'everything (stdio, registry spec), local runtime',
      rounds: ROUNDS,
      plainWake: { what: 'initialize of a new session on a sleeping server', ...p },
      resumedCall: { what: 'tools/call on a session from before the sleep', ...r },
      addedP50Ms: Math.round((r.p50Ms - p.p50Ms) * 100) / 100,
      // Rounds are paired: the median of each round's difference is steadier than p50 − p50.
      addedPairedP50Ms: pairedMedian(resumed, plain),
      target: 'addedP50Ms <= 20',
    },
    null,
    2,
  ),
);
