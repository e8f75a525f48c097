// The starter registry's PyPI server (fetch, mcp-server-fetch) runs locally for real: the CLI
// installs uv from PyPI and the package at its exact version ahead of time, then the local
// runtime runs the installed entry point behind the stdio bridge (no uvx on the wake path), and
// an SDK client uses it through the gateway — here to fetch a page this test serves on loopback.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { silentLogger } from '../../controller/observability/log.ts';
import { startController, type RunningController } from '../../controller/start.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('a PyPI server (fetch) installed ahead of time and served locally', function () {
  this.timeout(180_000);
  let registry: string;
  let controller: RunningController;
  let page: Server;
  let pageUrl: string;

  before(async function () {
    // Exactly what a user runs (README): npx mcpfleet registry install.
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, 'controller/cli/bin.js'), 'registry', 'install'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    assert.match(stdout, /fetch: mcp-server-fetch==2025\.4\.7 ready/);
    registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-pypi-'));
    await cp(path.join(ROOT, 'registry/servers/fetch'), path.join(registry, 'fetch'), {
      recursive: true,
    });
    controller = await startController({
      registryDir: registry,
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
    });
    page = createServer((req, res) => {
      if (req.url === '/robots.txt') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body><h1>Served on loopback</h1><p>for mcpfleet</p></body></html>');
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const address = page.address();
    pageUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  });

  after(async () => {
    await controller?.close();
    page?.close();
    if (registry) await rm(registry, { recursive: true, force: true });
  });

  it('is runnable here, not "needs uvx"', () => {
    const status = controller.fleet.status('fetch');
    assert.equal(status?.state, 'asleep', status?.lastError ?? '');
  });

  it('wakes on a request and fetches a page through the gateway', async () => {
    const client = new Client({ name: 'pypi-e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${controller.url}/servers/fetch/mcp`)),
    );
    const tools = await client.listTools();
    assert.ok(tools.tools.some((t) => t.name === 'fetch'));
    const result = await client.callTool({ name: 'fetch', arguments: { url: pageUrl } });
    assert.match(JSON.stringify(result.content), /Served on loopback/);
    await client.close();
  });
});
