// Access blocks on a loopback controller with no identity configured (everyone anonymous, the
// laptop's `npm start`): a server without a block is open as ever; a block that names groups,
// scopes or keys cannot be met by nobody, so such a server answers 403 saying the controller
// identifies nobody; tool rules apply to the anonymous caller as to anyone. And a platform
// policy file that is not valid Cedar stops the start, naming the file.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { PolicyFileError } from '../../../controller/auth/policy/platform-policy-file.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import type { Access } from '../../../registry/catalog/spec.ts';
import { everythingHttp, stdioFixture } from '../fleet/specs.ts';
import { initializeBody } from '../support/mcp-messages.ts';

const withAccess = (slug: string, access?: Access) => ({
  ...stdioFixture(slug, 'normal'),
  ...(access ? { access } : {}),
});

describe('access policies with no identity configured (anonymous callers)', function () {
  this.timeout(60_000);
  let controller: RunningController;

  before(async function () {
    controller = await startController({
      specs: [
        withAccess('open'),
        withAccess('team-only', { groups: ['team'] }),
        withAccess('no-crash', { tools: { deny: ['crash'] } }),
        { ...everythingHttp('http'), access: { tools: { deny: ['get-env'] } } },
      ],
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
    });
  });
  after(() => controller?.close());

  async function tools(slug: string): Promise<string[]> {
    const client = new Client({ name: 'anonymous', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${controller.url}/servers/${slug}/mcp`)),
    );
    try {
      return (await client.listTools()).tools.map((t) => t.name).sort();
    } finally {
      await client.close();
    }
  }

  it('a server without a block is open, every tool listed', async function () {
    assert.deepEqual(await tools('open'), ['crash', 'echo', 'emit', 'progress', 'slow']);
  });

  it('a block naming groups refuses the anonymous caller with 403, saying why', async function () {
    const response = await fetch(`${controller.url}/servers/team-only/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(response.status, 403);
    const body = (await response.json()) as { error: { message: string; data: unknown } };
    assert.match(
      body.error.message,
      /this controller identifies nobody .*every caller is anonymous/,
    );
    assert.deepEqual(body.error.data, {
      reason: 'forbidden',
      server: 'team-only',
      rule: 'team-only:access',
    });
  });

  it('tool rules apply to the anonymous caller', async function () {
    assert.deepEqual(await tools('no-crash'), ['echo', 'emit', 'progress', 'slow']);
  });

  it("filters a tools/list answered as an SSE stream (server-everything's HTTP server)", async function () {
    const url = `${controller.url}/servers/http/mcp`;
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const init = await fetch(url, { method: 'POST', headers, body: initializeBody(1) });
    await init.body?.cancel();
    const session = {
      ...headers,
      'mcp-session-id': init.headers.get('mcp-session-id')!,
      'mcp-protocol-version': '2025-06-18',
    };
    const initialized = await fetch(url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    await initialized.body?.cancel();
    const list = await fetch(url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    assert.match(list.headers.get('content-type') ?? '', /text\/event-stream/);
    const data = (await list.text()).split('\n').find((line) => line.startsWith('data:'))!;
    const names = (
      JSON.parse(data.slice(5)) as { result: { tools: { name: string }[] } }
    ).result.tools.map((t) => t.name);
    assert.ok(names.includes('echo') && names.includes('get-sum'), names.join(' '));
    assert.ok(!names.includes('get-env'), 'get-env is denied: not listed');
  });

  it('a platform policy file that is not valid Cedar stops the start, naming the file', async function () {
    const dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-bad-policy-'));
    try {
      const file = path.join(dir, 'platform.cedar');
      await writeFile(
        file,
        'forbid (principal, action, resource)\nwhen { resource.nme == "x" };\n',
      );
      await assert.rejects(
        startController({
          specs: [withAccess('open')],
          port: 0,
          dataDir: 'memory://',
          logger: silentLogger(),
          policyFile: file,
        }),
        (err: Error) =>
          err instanceof PolicyFileError && err.message.includes(file) && /`nme`/.test(err.message),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
