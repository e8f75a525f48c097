// The conformance suite's requirement sets of both protocol eras (2025-11-25 and 2026-07-28),
// run through the gateway against each kind of backend: stdio via the bridge, Streamable
// HTTP, a remote, and a server of revision 2026-07-28 only. Each backend is first run
// directly in the era it speaks (the baseline). Through the gateway, in its own era, it must
// lose nothing; in the other era (the gateway translating), it must pass every scenario it
// passes natively that the other era also requires. The matrix is printed for the record.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startTestFleet, type TestFleet } from '../controller/fleet/harness.ts';
import {
  everythingHttp,
  everythingStdio,
  modernServer,
  remoteAt,
} from '../controller/fleet/specs.ts';
import { startGateway, type RunningGateway } from '../controller/gateway/start-gateway.ts';
import { freePort } from '../controller/support/free-port.ts';
import {
  confirmedLost,
  passedScenarios,
  runConformance,
  type SuiteRun,
} from './conformance-run.ts';

const LEGACY = '2025-11-25';
const MODERN = '2026-07-28';
type Era = typeof LEGACY | typeof MODERN;

interface Backend {
  slug: string;
  /** The era the backend itself speaks. */
  era: Era;
}

const BACKENDS: Backend[] = [
  { slug: 'stdio-bridge', era: LEGACY },
  { slug: 'streamable-http', era: LEGACY },
  { slug: 'remote', era: LEGACY },
  { slug: 'modern-http', era: MODERN },
];

describe('conformance of both eras through the gateway, per backend kind', function () {
  this.timeout(900_000);
  let remote: ChildProcess;
  let t: TestFleet;
  let gateway: RunningGateway;
  const direct = new Map<string, SuiteRun>();
  const proxied = new Map<string, SuiteRun>();
  const key = (slug: string, era: Era) => `${slug} ${era}`;

  before(async function () {
    // The remote: a server-everything the controller did not start and cannot wake.
    const port = await freePort();
    const require = createRequire(import.meta.url);
    const everything = path.join(
      path.dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
      'dist/index.js',
    );
    remote = spawn(process.execPath, [everything, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForLine(remote, /listening on port/i);
    t = await startTestFleet(
      [
        everythingStdio('stdio-bridge'),
        everythingHttp('streamable-http'),
        remoteAt('remote', `http://127.0.0.1:${port}/mcp`),
        modernServer('modern-http', true),
      ],
      { drainGraceMs: 50 },
    );
    gateway = await startGateway(t.fleet);
    // Sequential: every run shares the two cores of the machine.
    for (const backend of BACKENDS) {
      const lease = await t.fleet.acquire(backend.slug, { kind: 'request' });
      lease.release();
      direct.set(
        backend.slug,
        await runConformance(lease.upstream.url, { requirements: backend.era }),
      );
      for (const era of [LEGACY, MODERN] as const)
        proxied.set(
          key(backend.slug, era),
          await runConformance(gateway.mcpUrl(backend.slug), { requirements: era }),
        );
    }
    printMatrix();
  });
  after(async function () {
    await gateway?.close();
    await t?.fleet.stop();
    remote?.kill();
  });

  function printMatrix(): void {
    const rows = BACKENDS.map((b) => {
      const native = direct.get(b.slug)!;
      const cells = ([LEGACY, MODERN] as const).map((era) => {
        const run = proxied.get(key(b.slug, era))!;
        return `${era}: ${passedScenarios(run).length}/${run.scenarios.size}`;
      });
      return `      ${b.slug} (speaks ${b.era}; direct ${passedScenarios(native).length}/${native.scenarios.size}) → gateway ${cells.join(', ')}`;
    });
    console.log(`      conformance matrix (scenarios passed/run):\n${rows.join('\n')}`);
  }

  for (const backend of BACKENDS) {
    it(`${backend.slug}: in its own era, the gateway passes every scenario it passes directly`, async () => {
      const native = direct.get(backend.slug)!;
      const through = proxied.get(key(backend.slug, backend.era))!;
      const lost = await confirmedLost(
        { run: native, specVersion: backend.era },
        { run: through, specVersion: backend.era },
        passedScenarios(native),
      );
      assert.deepEqual(lost, [], 'scenarios passing directly but not through the gateway');
      assert.ok(passedScenarios(native).length >= 5, 'the backend passes a meaningful set');
    });

    const other: Era = backend.era === LEGACY ? MODERN : LEGACY;
    it(`${backend.slug}: a ${other} client passes, translated, what the backend passes in ${backend.era}`, async () => {
      const native = direct.get(backend.slug)!;
      const through = proxied.get(key(backend.slug, other))!;
      const expected = passedScenarios(native).filter((s) => through.scenarios.has(s));
      const lost = await confirmedLost(
        { run: native, specVersion: backend.era },
        { run: through, specVersion: other },
        expected,
      );
      assert.deepEqual(lost, [], `scenarios lost in translation to ${other}`);
      assert.ok(expected.length >= 5, `a meaningful set crosses the eras (${expected.join(', ')})`);
    });
  }
});

async function waitForLine(child: ChildProcess, pattern: RegExp): Promise<void> {
  let seen = '';
  const found = new Promise<void>((resolve) => {
    const look = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) resolve();
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
  });
  const exited = once(child, 'exit').then(() => {
    throw new Error(`the remote exited before listening: ${seen}`);
  });
  await Promise.race([found, exited]);
}
