// The whole controller, for real: `startController` in-process, and `mcpfleet serve` as a
// process (what `npm start` runs) — registry → PGlite → local fleet → gateway. MCP SDK
// clients go through the gateway to server-everything (stdio via the bridge, and its own
// HTTP mode behind the proxy); shutdown leaves no child process behind.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'undici';
import { startController, type RunningController } from '../../../controller/start.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import type { ServerStatus } from '../../../controller/api/types.ts';
import { waitFor } from './start-gateway.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

async function callEcho(url: string, message: string): Promise<unknown> {
  const client = new Client({ name: 'serve-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: 'echo', arguments: { message } });
    await transport.terminateSession();
    return result.content;
  } finally {
    await client.close();
  }
}

/** PIDs of the live descendants of `pid` (children of children too). */
function descendants(pid: number): Promise<number[]> {
  return new Promise((resolve) => {
    execFile('ps', ['-e', '-o', 'pid=,ppid='], (_err, stdout) => {
      const children = new Map<number, number[]>();
      for (const line of stdout.trim().split('\n')) {
        const [p, pp] = line.trim().split(/\s+/).map(Number);
        if (p === undefined || pp === undefined) continue;
        children.set(pp, [...(children.get(pp) ?? []), p]);
      }
      const out: number[] = [];
      const walk = (p: number): void => {
        for (const c of children.get(p) ?? []) {
          out.push(c);
          walk(c);
        }
      };
      walk(pid);
      resolve(out);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('controller end to end', function () {
  this.timeout(60_000);
  let registry: string;

  before(async function () {
    registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-serve-'));
    for (const slug of ['everything', 'everything-http']) {
      await cp(path.join(ROOT, 'registry/servers', slug), path.join(registry, slug), {
        recursive: true,
      });
    }
  });
  after(async function () {
    await rm(registry, { recursive: true, force: true });
  });

  describe('startController (in-process)', function () {
    let controller: RunningController;
    before(async function () {
      controller = await startController({
        registryDir: registry,
        port: 0,
        dataDir: 'memory://',
        logger: silentLogger(),
      });
    });
    after(async function () {
      await controller?.close();
    });

    it('serves every registered server through the gateway, waking each on first use', async function () {
      const servers = (await (await request(`${controller.url}/api/v1/servers`)).body.json()) as {
        servers: ServerStatus[];
      };
      assert.deepEqual(
        servers.servers.map((s) => [s.slug, s.state]),
        [
          ['everything', 'asleep'],
          ['everything-http', 'asleep'],
        ],
      );
      assert.deepEqual(await callEcho(`${controller.url}/servers/everything/mcp`, 'stdio'), [
        { type: 'text', text: 'Echo: stdio' },
      ]);
      assert.deepEqual(await callEcho(`${controller.url}/servers/everything-http/mcp`, 'http'), [
        { type: 'text', text: 'Echo: http' },
      ]);
      assert.equal(controller.fleet.status('everything-http')?.state, 'ready');
      const events = (await (
        await request(`${controller.url}/api/v1/events?type=wake`)
      ).body.json()) as { events: Array<{ server: string; durationMs: number }> };
      assert.deepEqual(events.events.map((e) => e.server).sort(), [
        'everything',
        'everything-http',
      ]);
      assert.ok(
        events.events.every((e) => e.durationMs > 0),
        'a wake carries its duration',
      );
    });

    it('reports ready, and puts a server to sleep on request', async function () {
      const ready = await request(`${controller.url}/readyz`);
      assert.equal(ready.statusCode, 200);
      await ready.body.text();
      const slept = await request(`${controller.url}/api/v1/servers/everything-http/sleep`, {
        method: 'POST',
      });
      assert.equal(((await slept.body.json()) as ServerStatus).state, 'asleep');
    });
  });

  describe('mcpfleet serve (a process)', function () {
    it('says at once that its port is taken, before creating the database', async function () {
      const taken = createNetServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as AddressInfo).port;
      const dataDir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-port-taken-'));
      try {
        const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
          const serve = spawn(
            process.execPath,
            ['controller/cli/bin.js', 'serve', '--port', String(port), '--data-dir', dataDir],
            { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
          );
          let out = '';
          serve.stdout!.on('data', (c: Buffer) => (out += c.toString()));
          serve.stderr!.on('data', (c: Buffer) => (out += c.toString()));
          serve.once('exit', (code) => resolve({ code, out }));
        });
        assert.equal(result.code, 1, result.out);
        assert.match(result.out, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
        assert.doesNotMatch(result.out, /creating the embedded database/);
        assert.deepEqual(await readdir(dataDir), [], 'no database was created');
      } finally {
        taken.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    });

    it('starts, serves, and on SIGTERM exits 0 leaving no child behind', async function () {
      // In-memory PGlite: the on-disk default is covered by the store's own tests.
      const dataDir = 'memory://';
      const serve = spawn(
        process.execPath,
        [
          'controller/cli/bin.js',
          'serve',
          '--registry',
          registry,
          '--port',
          '0',
          '--data-dir',
          dataDir,
          '--log-level',
          'warn',
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      try {
        let out = '';
        serve.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        serve.stderr!.on('data', (c: Buffer) => (out += c.toString()));
        await waitFor(() => /listening on (http:\/\/\S+)/.test(out), 'the serve banner', 30_000);
        const base = /listening on (http:\/\/\S+)/.exec(out)![1]!;
        assert.match(
          out,
          new RegExp(`everything-http\\s+${base}/servers/everything-http/mcp\\s+runs locally`),
        );

        assert.deepEqual(await callEcho(`${base}/servers/everything-http/mcp`, 'cli'), [
          { type: 'text', text: 'Echo: cli' },
        ]);
        const children = await descendants(serve.pid!);
        assert.ok(children.length >= 1, 'the HTTP server runs as a child process');

        const exited = new Promise<number | null>((resolve) => serve.once('exit', resolve));
        serve.kill('SIGTERM');
        assert.equal(await exited, 0, out);
        await waitFor(() => children.every((pid) => !alive(pid)), 'children gone', 5_000);
      } finally {
        if (serve.exitCode === null) serve.kill('SIGKILL');
      }
    });

    it('refuses an invalid registry with the located problems and exit 1', async function () {
      const bad = await mkdtemp(path.join(tmpdir(), 'mcpfleet-bad-'));
      try {
        await mkdir(path.join(bad, 'broken'));
        await writeFile(path.join(bad, 'broken/server.json'), '{"name": "no-slash"}');
        const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
          execFile(
            process.execPath,
            ['controller/cli/bin.js', 'serve', '--registry', bad, '--port', '0'],
            { cwd: ROOT },
            (err, _stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stderr }),
          );
        });
        assert.equal(result.code, 1);
        assert.match(result.stderr, /broken\/server\.json:\d+:\d+: name: /);
        assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      } finally {
        await rm(bad, { recursive: true, force: true });
      }
    });
  });
});
