// Wake latency: request-to-first-response for a sleeping stdio server through mcpfleet
// (fleet wakes it: bridge + readiness round trip; then the client's initialize answers)
// vs the floor: spawn the same server and initialize it directly over stdio. Median of
// ROUNDS each. Target: ratio <= 1.3. Usage: node bench/wake.ts [rounds=7]
import { spawn } from 'node:child_process';
import { EVERYTHING_BIN, openSession, closeSession, summarize } from './mcp-load.ts';
import { benchFleet, registrySpec } from './fleet-setup.ts';

const ROUNDS = Number(process.argv[2] ?? 7);

function floorOnce(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [EVERYTHING_BIN, 'stdio'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    child.once('error', reject);
    child.stdout.once('data', () => {
      const ms = performance.now() - t0;
      child.kill('SIGKILL');
      child.once('exit', () => resolve(ms));
    });
    child.stdin.write(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'floor', version: '1' },
        },
      }) + '\n',
    );
  });
}

const spec = await registrySpec('everything');
const { fleet } = await benchFleet([spec]);
const floor: number[] = [];
const wake: number[] = [];
// Interleave so machine noise hits both alike.
for (let i = 0; i < ROUNDS; i++) {
  floor.push(await floorOnce());
  const t0 = performance.now();
  const lease = await fleet.acquire('everything', { kind: 'request' });
  const session = await openSession(lease.upstream.url);
  wake.push(performance.now() - t0);
  await closeSession(session);
  lease.release();
  await fleet.sleep('everything');
}
await fleet.stop();
const f = summarize(floor);
const w = summarize(wake);
console.log(
  JSON.stringify(
    {
      benchmark: 'wake',
      server: 'everything (stdio, registry spec)',
      rounds: ROUNDS,
      floor: {
        what: 'spawn + initialize over stdio, no mcpfleet',
        medianMs: f.p50Ms,
        maxMs: f.maxMs,
      },
      mcpfleet: {
        what: 'acquire on a sleeping server + initialize through the bridge',
        medianMs: w.p50Ms,
        maxMs: w.maxMs,
      },
      ratio: Math.round((w.p50Ms / f.p50Ms) * 100) / 100,
      target: '<= 1.3',
    },
    null,
    2,
  ),
);
