// Both eras of the protocol through the gateway, whatever the backend speaks: a 2026-07-28
// client (the official SDK v2 client, pinned to 2026-07-28, and hand-written requests) reaches
// 2025 servers (server-everything over HTTP and over stdio via the bridge), and a 2025 client
// (the SDK v1 client) reaches a 2026-07-28-only server (the SDK v2 server in strict mode),
// also across a sleep. Headers that contradict the body are refused before any server sees
// them.
import assert from 'node:assert/strict';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTestFleet, waitForEvents, type TestFleet } from '../controller/fleet/harness.ts';
import { everythingHttp, everythingStdio, modernServer } from '../controller/fleet/specs.ts';
import { startGateway, type RunningGateway } from '../controller/gateway/start-gateway.ts';

const MODERN = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'curl-like', version: '2.0.0' },
  'io.modelcontextprotocol/clientCapabilities': { roots: {} },
};

interface RpcAnswer {
  status: number;
  body: {
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: unknown };
  };
  headers: Headers;
}

describe('protocol eras through the gateway', function () {
  this.timeout(60_000);
  let t: TestFleet;
  let gateway: RunningGateway;
  const closers: (() => Promise<unknown>)[] = [];

  before(async function () {
    t = await startTestFleet(
      [
        everythingHttp('legacy-http'),
        everythingStdio('legacy-stdio'),
        modernServer('modern-only', true),
        modernServer('dual-era', false),
      ],
      { drainGraceMs: 50 },
    );
    gateway = await startGateway(t.fleet);
  });
  after(async function () {
    for (const close of closers) await close().catch(() => {});
    await gateway?.close();
    await t?.fleet.stop();
  });

  /** One POST as a client of either era writes it. */
  async function post(
    slug: string,
    message: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<RpcAnswer> {
    const res = await fetch(gateway.mcpUrl(slug), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', ...message }),
    });
    const text = await res.text();
    const data = res.headers.get('content-type')?.includes('text/event-stream')
      ? text
          .split('\n')
          .filter((l) => l.startsWith('data:') && l.slice(5).trim() !== '')
          .map((l) => JSON.parse(l.slice(5)) as RpcAnswer['body'])
          .find((m) => 'result' in m || 'error' in m)!
      : (JSON.parse(text) as RpcAnswer['body']);
    return { status: res.status, body: data, headers: res.headers };
  }

  /** A 2026-07-28 request, headers and envelope as the revision requires. */
  function modern(slug: string, id: number, method: string, params: Record<string, unknown> = {}) {
    const name = (params.name ?? params.uri) as string | undefined;
    return post(
      slug,
      { id, method, params: { ...params, _meta: ENVELOPE } },
      {
        'mcp-protocol-version': MODERN,
        'mcp-method': method,
        ...(name !== undefined ? { 'mcp-name': name } : {}),
      },
    );
  }

  async function modernClient(slug: string): Promise<ModernClient> {
    const client = new ModernClient(
      { name: 'modern-desktop', version: '3.0.0' },
      { versionNegotiation: { mode: { pin: MODERN } } },
    );
    await client.connect(new ModernTransport(new URL(gateway.mcpUrl(slug))));
    closers.push(() => client.close());
    return client;
  }

  async function legacyClient(slug: string) {
    const transport = new StreamableHTTPClientTransport(new URL(gateway.mcpUrl(slug)));
    const client = new Client(
      { name: 'desktop', version: '7.1.0' },
      { capabilities: { roots: { listChanged: true } } },
    );
    await client.connect(transport);
    closers.push(() => client.close());
    return { client, transport };
  }

  describe('a 2026-07-28 client of 2025 servers', function () {
    for (const slug of ['legacy-http', 'legacy-stdio']) {
      it(`${slug}: server/discover is answered from the server's initialize`, async () => {
        const { status, body } = await modern(slug, 1, 'server/discover');
        assert.equal(status, 200, JSON.stringify(body));
        assert.deepEqual(body.result?.supportedVersions, [MODERN]);
        const capabilities = body.result?.capabilities as Record<string, unknown>;
        assert.ok(capabilities.tools, 'the capabilities the server declared at initialize');
        const info = (body.result?._meta as Record<string, { name: string }>)[
          'io.modelcontextprotocol/serverInfo'
        ];
        assert.match(info!.name, /everything/, 'who answered, as the server said at initialize');
      });

      it(`${slug}: a sessionless tools/call is answered, worded for 2026-07-28`, async () => {
        const { status, body, headers } = await modern(slug, 2, 'tools/call', {
          name: 'echo',
          arguments: { message: 'across eras' },
        });
        assert.equal(status, 200, JSON.stringify(body));
        assert.match(JSON.stringify(body.result?.content), /across eras/);
        assert.equal(body.result?.resultType, 'complete');
        assert.equal(headers.get('mcp-session-id'), null, 'the client gets no session');
      });
    }

    it('the official SDK v2 client pinned to 2026-07-28 connects and calls tools', async () => {
      const client = await modernClient('legacy-http');
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      const tools = await client.listTools();
      assert.ok(tools.tools.some((tool) => tool.name === 'echo'));
      const result = await client.callTool({ name: 'echo', arguments: { message: 'v2 client' } });
      assert.match(JSON.stringify(result.content), /v2 client/);
    });

    it('subscriptions/listen, which a 2025 server cannot serve, is a clear 404', async () => {
      const { status, body } = await modern('legacy-http', 3, 'subscriptions/listen');
      assert.equal(status, 404);
      assert.equal(body.error?.code, -32601);
      assert.match(body.error!.message, /2025 revision/);
    });
  });

  describe('a 2025 client of a 2026-07-28-only server', function () {
    it('initializes (answered from server/discover) and calls tools with its own identity', async () => {
      const { client, transport } = await legacyClient('modern-only');
      assert.equal(client.getServerVersion()?.name, 'modern-fixture');
      assert.match(transport.sessionId!, /^[A-Za-z0-9_-]{32}$/, "the gateway's own session id");
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      const seen = JSON.parse((result.content as [{ text: string }])[0].text) as {
        clientInfo: { name: string };
        capabilities: { roots?: unknown };
      };
      assert.equal(
        seen.clientInfo.name,
        'desktop',
        'the envelope carries the client, not the gateway',
      );
      assert.ok(seen.capabilities.roots, 'and its capabilities');
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'old client' } });
      assert.match(JSON.stringify(echo.content), /old client/);
      await client.setLoggingLevel('warning');
    });

    it('keeps the session across a sleep (nothing to replay: the server keeps none)', async () => {
      const { client, transport } = await legacyClient('modern-only');
      await client.callTool({ name: 'echo', arguments: { message: 'before' } });
      const sessionId = transport.sessionId;
      const sleeps = (await t.events('modern-only', 'sleep')).length;
      await t.fleet.sleep('modern-only');
      await waitForEvents(t, 'modern-only', 'sleep', sleeps + 1);
      const after = await client.callTool({ name: 'echo', arguments: { message: 'after' } });
      assert.match(JSON.stringify(after.content), /after/);
      assert.equal(transport.sessionId, sessionId);
    });

    it('a DELETE ends the session at the gateway; the id is then unknown (404)', async () => {
      const { transport } = await legacyClient('modern-only');
      const sessionId = transport.sessionId!;
      await transport.terminateSession();
      const { status } = await post(
        'modern-only',
        { id: 9, method: 'ping' },
        { 'mcp-session-id': sessionId },
      );
      assert.equal(status, 404);
    });
  });

  describe('same era end to end is passed through', function () {
    it('a 2026-07-28 request reaches a 2026-07-28 server with its own envelope', async () => {
      const { status, body } = await modern('dual-era', 4, 'tools/call', {
        name: 'whoami',
        arguments: {},
      });
      assert.equal(status, 200, JSON.stringify(body));
      const text = (body.result?.content as [{ text: string }])[0].text;
      assert.equal(
        (JSON.parse(text) as { clientInfo: { name: string } }).clientInfo.name,
        'curl-like',
      );
    });

    it('a 2025 client of a dual-era server uses its own 2025 leg, untranslated', async () => {
      const { client } = await legacyClient('dual-era');
      const result = await client.callTool({ name: 'echo', arguments: { message: 'native' } });
      assert.match(JSON.stringify(result.content), /native/);
    });
  });

  describe('headers that contradict the body', function () {
    const call = {
      id: 5,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'x' }, _meta: ENVELOPE },
    };

    it('Mcp-Method that names another method: 400 / -32020, the server never sees it', async () => {
      const { status, body } = await post('legacy-http', call, {
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/list',
        'mcp-name': 'echo',
      });
      assert.equal(status, 400);
      assert.equal(body.error?.code, -32020);
      assert.match(body.error!.message, /Mcp-Method says tools\/list/);
    });

    it('Mcp-Name missing or naming another tool: 400 / -32020', async () => {
      for (const name of [undefined, 'other']) {
        const { status, body } = await post('modern-only', call, {
          'mcp-protocol-version': MODERN,
          'mcp-method': 'tools/call',
          ...(name ? { 'mcp-name': name } : {}),
        });
        assert.equal(status, 400);
        assert.equal(body.error?.code, -32020, JSON.stringify(body));
      }
    });

    it('an envelope version nobody speaks: 400 / -32022 naming what the gateway speaks', async () => {
      const { status, body } = await post(
        'legacy-http',
        {
          id: 6,
          method: 'tools/list',
          params: {
            _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
          },
        },
        { 'mcp-method': 'tools/list' },
      );
      assert.equal(status, 400);
      assert.equal(body.error?.code, -32022);
      assert.deepEqual((body.error?.data as { supported: string[] }).supported, [MODERN]);
    });

    it('a MCP-Protocol-Version header nobody speaks on a 2025 request: 400 / -32022', async () => {
      const { status, body } = await post(
        'legacy-http',
        { id: 7, method: 'tools/list' },
        { 'mcp-protocol-version': '1999-01-01' },
      );
      assert.equal(status, 400);
      assert.equal(body.error?.code, -32022);
    });

    it('a 2026-07-28 header without the envelope: 400 / -32602', async () => {
      const { status, body } = await post(
        'legacy-http',
        { id: 8, method: 'tools/list' },
        {
          'mcp-protocol-version': MODERN,
          'mcp-method': 'tools/list',
        },
      );
      assert.equal(status, 400);
      assert.equal(body.error?.code, -32602);
    });

    it('the envelope and the version header disagree: 400 / -32020', async () => {
      const { status, body } = await post('legacy-http', call, {
        'mcp-protocol-version': '2025-11-25',
        'mcp-method': 'tools/call',
        'mcp-name': 'echo',
      });
      assert.equal(status, 400);
      assert.equal(body.error?.code, -32020);
    });
  });
});
