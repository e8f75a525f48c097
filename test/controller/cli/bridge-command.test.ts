// `mcpfleet bridge` as a user runs it. Alone it listens on loopback only; a server pod's
// command (infra/manifests/server.ts) says --host 0.0.0.0. `warmSpare: false` puts
// --no-warm-spare on that command, and the bridge run with those exact flags keeps no process
// beyond the sessions; with the default flags it keeps one spare.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { McpProbe } from '../../../controller/health/mcp-probe.ts';
import { readStackFile } from '../../../infra/render.ts';
import { serverManifests } from '../../../infra/manifests/server.ts';
import type { WorkloadSpec } from '../../../registry/catalog/spec.ts';
import { starterSpecs } from '../../infra/fixtures.ts';
import { freePort } from '../support/free-port.ts';
import { EVERYTHING_BIN, waitFor } from '../support/processes.ts';

const BIN = new URL('../../../controller/cli/bin.js', import.meta.url).pathname;

/** PIDs of the server processes whose parent is `pid` (from /proc; its watchdog aside). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === pid && !cmdline.includes('watchdog-process.ts');
      } catch {
        return false;
      }
    })
    .map(Number);
}

let everything: WorkloadSpec;

/** The bridge flags of the registry's `everything` manifest, with `warmSpare`, port excluded. */
function manifestBridgeFlags(warmSpare: boolean): string[] {
  const config = readStackFile('dev');
  const { deployment } = serverManifests(
    { ...everything, warmSpare },
    {
      namespace: config.namespace,
      images: config.images,
    },
  );
  const command = deployment.spec!.template.spec!.containers[0]!.command!;
  const flags = command.slice(command.indexOf('bridge') + 1, command.indexOf('--'));
  // Where it listens is the test's to choose: drop --port and --host with their values.
  const dropped = new Set(
    ['--port', '--host'].flatMap((flag) => [flags.indexOf(flag), flags.indexOf(flag) + 1]),
  );
  return flags.filter((_, i) => !dropped.has(i));
}

describe('mcpfleet bridge as the server manifests run it', function () {
  this.timeout(30_000);
  const bridges: ChildProcess[] = [];
  before(async () => {
    everything = (await starterSpecs()).find((s) => s.slug === 'everything') as WorkloadSpec;
  });
  after(() => bridges.forEach((b) => b.kill('SIGKILL')));

  it('listens on loopback unless told otherwise, as its log says', async () => {
    const port = await freePort();
    const bridge = spawn(
      process.execPath,
      [BIN, 'bridge', '--port', String(port), '--', process.execPath, EVERYTHING_BIN, 'stdio'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    bridges.push(bridge);
    let output = '';
    bridge.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('stdio bridge listening'), 15_000, 'the bridge to listen');
    assert.match(output, new RegExp(`"url":"http://127\\.0\\.0\\.1:${port}/mcp"`));
  });

  it('is told --host 0.0.0.0 by the manifest (the controller reaches it at the pod IP)', () => {
    const config = readStackFile('dev');
    const { deployment } = serverManifests(everything, {
      namespace: config.namespace,
      images: config.images,
    });
    const command = deployment.spec!.template.spec!.containers[0]!.command!;
    assert.deepEqual(command.slice(command.indexOf('--host'), command.indexOf('--host') + 2), [
      '--host',
      '0.0.0.0',
    ]);
  });

  it('puts --no-warm-spare on the command of a warmSpare: false server only', () => {
    assert.deepEqual(manifestBridgeFlags(false), ['--no-warm-spare']);
    assert.deepEqual(manifestBridgeFlags(true), []);
  });

  for (const [warmSpare, expected] of [
    [true, 2],
    [false, 1],
  ] as const) {
    it(`keeps ${expected} process${expected > 1 ? 'es' : ''} for one session with warmSpare: ${warmSpare}`, async () => {
      const port = await freePort();
      const bridge = spawn(
        process.execPath,
        [
          BIN,
          'bridge',
          ...manifestBridgeFlags(warmSpare),
          '--port',
          String(port),
          '--host',
          '127.0.0.1',
          '--',
          process.execPath,
          EVERYTHING_BIN,
          'stdio',
        ],
        { stdio: 'ignore' },
      );
      bridges.push(bridge);
      const probe = new McpProbe(`http://127.0.0.1:${port}/mcp`);
      await waitFor(async () => (await probe.check(5_000)).ok, 15_000, 'the bridge to answer');
      await waitFor(
        () => childrenOf(bridge.pid!).length === expected,
        10_000,
        `${expected} processes under the bridge (has ${childrenOf(bridge.pid!).length})`,
      );
      // And no spare turns up a little later either.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(childrenOf(bridge.pid!).length, expected);
    });
  }
});
