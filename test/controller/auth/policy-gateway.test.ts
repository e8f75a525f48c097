// Per-server and per-tool authorization through the real controller: real MCP servers from the
// registry (the memory server, whose graph is a side effect a refused call would leave, and
// server-everything twice), a real OpenID provider's tokens and real API keys, the official
// SDK client. Each server's `_meta` access block and a platform policy file decide, with Cedar:
//
//   memory      groups ["memory-users"], scopes ["memory:write"], keys ["ci-bot*"],
//               tools.deny ["delete_*"]
//   everything  tools.allow ["echo", "get-*"]            (anyone the gate admits)
//   plain       no block                                 (only the platform file applies)
//   platform    forbid every tool named "*-env", on every server
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { FORBIDDEN_TOOL } from '../../../controller/gateway/call-policy.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { SERVER_DATA_ROOT_VARIABLE } from '../../../controller/runtime/launch-plan.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import {
  startIdentityProvider,
  type TestClient,
  type TestIdentityProvider,
} from '../../fixtures/oidc-provider.ts';
import { freePort } from '../support/free-port.ts';
import { initializeBody } from '../support/mcp-messages.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const ALICE: TestClient = { id: 'alice', secret: 'alice-secret', groups: ['memory-users'] };
const BOB: TestClient = { id: 'bob', secret: 'bob-secret', groups: ['developers'] };
const ADMIN: TestClient = { id: 'admin', secret: 'admin-secret', groups: ['platform-admins'] };
const PLATFORM_POLICY = `// Across servers: nobody reads a server's environment.
@id("no-env")
forbid (principal, action == Action::"call_tool", resource)
when { resource.name like "*-env" };
`;

async function addServer(
  registry: string,
  from: string,
  slug: string,
  access?: Record<string, unknown>,
): Promise<void> {
  await cp(path.join(ROOT, 'registry/servers', from), path.join(registry, slug), {
    recursive: true,
  });
  const file = path.join(registry, slug, 'server.json');
  const doc = JSON.parse(await readFile(file, 'utf8')) as {
    name: string;
    _meta: Record<string, Record<string, unknown>>;
  };
  if (slug !== from) doc.name = `io.github.mcpfleet-test/${slug}`; // names are unique
  if (access) doc._meta['dev.mcpfleet/v1']!.access = access;
  await writeFile(file, JSON.stringify(doc, null, 2));
}

function toolText(result: unknown): string {
  return JSON.stringify((result as { content?: unknown }).content);
}

describe('per-server and per-tool policy at the gateway (Cedar, real servers)', function () {
  this.timeout(120_000);
  let dir: string;
  let idp: TestIdentityProvider;
  let controller: RunningController;
  const credentials: Record<string, string> = {};

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-policy-gw-'));
    const registry = path.join(dir, 'servers');
    await addServer(registry, 'memory', 'memory', {
      groups: ['memory-users'],
      scopes: ['memory:write'],
      keys: ['ci-bot*'],
      tools: { deny: ['delete_*'] },
    });
    await addServer(registry, 'everything', 'everything', { tools: { allow: ['echo', 'get-*'] } });
    await addServer(registry, 'everything', 'plain');
    const policyFile = path.join(dir, 'platform.cedar');
    await writeFile(policyFile, PLATFORM_POLICY);
    idp = await startIdentityProvider([ALICE, BOB, ADMIN], { scopes: ['mcp', 'memory:write'] });
    controller = await startController({
      registryDir: registry,
      port: await freePort(),
      dataDir: 'memory://',
      logger: silentLogger(),
      keyHashingSecret: 'a-key-hashing-secret-of-at-least-32-characters',
      auth: { issuers: [idp.issuer], roleMap: { admin: ['platform-admins'] } },
      policyFile,
      registryWatch: { debounceMs: 50, pollIntervalMs: 200 },
      fleet: {
        runtimeOptions: {
          environment: { ...process.env, [SERVER_DATA_ROOT_VARIABLE]: path.join(dir, 'data') },
        },
      },
    });
    for (const who of [ALICE, BOB, ADMIN])
      credentials[who.id] = await idp.token(who, controller.url);
    for (const name of ['ci-bot-2026-12', 'deploy-bot']) {
      const created = await fetch(`${controller.url}/api/v1/keys`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${credentials.admin}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ name, role: 'viewer' }),
      });
      assert.equal(created.status, 201, await created.clone().text());
      credentials[name] = ((await created.json()) as { key: string }).key;
    }
  });
  after(async function () {
    await controller?.close();
    await idp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const endpoint = (slug: string) => `${controller.url}/servers/${slug}/mcp`;

  async function connect(slug: string, who: string): Promise<Client> {
    const client = new Client({ name: `policy-${who}`, version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(endpoint(slug)), {
        requestInit: { headers: { authorization: `Bearer ${credentials[who]}` } },
      }),
    );
    return client;
  }

  async function toolNames(slug: string, who: string): Promise<string[]> {
    const client = await connect(slug, who);
    try {
      return (await client.listTools()).tools.map((t) => t.name).sort();
    } finally {
      await client.close();
    }
  }

  /** A raw POST, for what the SDK client would not send (a batch, contradicting headers). */
  async function post(
    slug: string,
    who: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown; session: string | null; challenge: string | null }> {
    const response = await fetch(endpoint(slug), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${credentials[who]}`,
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    const json =
      text.startsWith('event:') || text.startsWith('data:') ? text.slice(text.indexOf('{')) : text;
    return {
      status: response.status,
      body: json === '' ? undefined : JSON.parse(json),
      session: response.headers.get('mcp-session-id'),
      challenge: response.headers.get('www-authenticate'),
    };
  }

  async function graph(who = 'alice'): Promise<string> {
    const client = await connect('memory', who);
    try {
      return toolText(await client.callTool({ name: 'read_graph', arguments: {} }));
    } finally {
      await client.close();
    }
  }

  it('a user in an allowed group lists only the tools it may call, and calls them', async function () {
    const names = await toolNames('memory', 'alice');
    assert.deepEqual(names, [
      'add_observations',
      'create_entities',
      'create_relations',
      'open_nodes',
      'read_graph',
      'search_nodes',
    ]);
    const client = await connect('memory', 'alice');
    try {
      const created = await client.callTool({
        name: 'create_entities',
        arguments: { entities: [{ name: 'keep-me', entityType: 'test', observations: ['x'] }] },
      });
      assert.match(toolText(created), /keep-me/);
    } finally {
      await client.close();
    }
    assert.match(await graph(), /keep-me/);
  });

  it('a forbidden tools/call is refused with a JSON-RPC error and never reaches the server', async function () {
    const client = await connect('memory', 'alice');
    try {
      await assert.rejects(
        client.callTool({ name: 'delete_entities', arguments: { entityNames: ['keep-me'] } }),
        (err: unknown) =>
          err instanceof McpError &&
          err.code === FORBIDDEN_TOOL &&
          /tool "delete_entities" of server "memory" is denied/.test(err.message),
      );
    } finally {
      await client.close();
    }
    assert.match(await graph(), /keep-me/, 'the entity is still there: the server never ran it');
    const file = await readFile(path.join(dir, 'data', 'memory', 'memory.jsonl'), 'utf8');
    assert.match(file, /keep-me/);
  });

  it('a user outside the groups gets 403 with a JSON-RPC error, on every request', async function () {
    const refused = await post('memory', 'bob', initializeBody(1));
    assert.equal(refused.status, 403);
    assert.equal(
      refused.challenge,
      `Bearer resource_metadata="${controller.url}/.well-known/oauth-protected-resource/servers/memory/mcp", ` +
        'scope="memory:write", error="insufficient_scope", ' +
        'error_description="server \\"memory\\" admits a token with the scope memory:write"',
      'a token: told which scope would admit it (scope step-up)',
    );
    assert.deepEqual(refused.body, {
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32000,
        message: '"bob" is not among the groups, scopes and API keys that server "memory" admits',
        data: { reason: 'forbidden', server: 'memory', rule: 'memory:access' },
      },
    });
    const stream = await fetch(endpoint('memory'), {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${credentials.bob}` },
    });
    assert.equal(stream.status, 403, 'a GET stream too');
    await stream.body?.cancel();
    await assert.rejects(
      connect('memory', 'bob'),
      (err: Error) =>
        err.message.includes('is not among the groups') && /HTTP|403/.test(err.message),
      'the SDK says why',
    );
    credentials['bob-scoped'] = await idp.token(BOB, controller.url, 'memory:write');
    assert.ok(
      (await toolNames('memory', 'bob-scoped')).includes('read_graph'),
      'with the scope the challenge named, bob is admitted',
    );
    assert.ok(
      (await toolNames('everything', 'bob')).includes('echo'),
      'other servers are open to bob',
    );
  });

  it('an API key whose name the block admits may use the server; a key not named gets 403', async function () {
    assert.ok(
      (await toolNames('memory', 'ci-bot-2026-12')).includes('read_graph'),
      'ci-bot* admits it',
    );
    const refused = await post('memory', 'deploy-bot', { jsonrpc: '2.0', id: 'k', method: 'ping' });
    assert.equal(refused.status, 403);
    assert.equal(refused.challenge, null, 'no scope admits a key: no scope challenge');
    assert.match(
      (refused.body as { error: { message: string } }).error.message,
      /key "deploy-bot" is not among the groups, scopes and API keys that server "memory" admits/,
    );
  });

  it("the platform policy file's forbid applies across servers, with or without a block", async function () {
    for (const slug of ['everything', 'plain']) {
      const names = await toolNames(slug, 'bob');
      assert.ok(names.includes('get-sum') && names.includes('echo'), `${slug}: ${names.join(' ')}`);
      assert.ok(!names.includes('get-env'), `${slug} hides get-env`);
      const client = await connect(slug, 'bob');
      try {
        await assert.rejects(
          client.callTool({ name: 'get-env', arguments: {} }),
          (err: unknown) =>
            err instanceof McpError &&
            err.code === FORBIDDEN_TOOL &&
            /forbidden by policy no-env/.test(err.message),
        );
        assert.match(
          toolText(await client.callTool({ name: 'echo', arguments: { message: 'hi' } })),
          /hi/,
        );
      } finally {
        await client.close();
      }
    }
    assert.deepEqual(
      await toolNames('everything', 'bob'),
      [
        'echo',
        'get-annotated-message',
        'get-resource-links',
        'get-resource-reference',
        'get-structured-content',
        'get-sum',
        'get-tiny-image',
      ],
      "everything's own allow list, less the platform's forbid",
    );
  });

  it('a batch holding one forbidden call is refused whole: none of it runs', async function () {
    const init = await post('memory', 'alice', {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-03-26',
        capabilities: {},
        clientInfo: { name: 'batch', version: '1' },
      },
    });
    assert.equal(init.status, 200);
    const session = { 'mcp-session-id': init.session!, 'mcp-protocol-version': '2025-03-26' };
    await post('memory', 'alice', { jsonrpc: '2.0', method: 'notifications/initialized' }, session);
    const batch = await post(
      'memory',
      'alice',
      [
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: {
            name: 'create_entities',
            arguments: { entities: [{ name: 'from-batch', entityType: 'test', observations: [] }] },
          },
        },
        {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'delete_entities', arguments: { entityNames: ['keep-me'] } },
        },
      ],
      session,
    );
    assert.equal(batch.status, 200);
    const [first, second] = batch.body as {
      id: number;
      error: { code: number; message: string; data: Record<string, unknown> };
    }[];
    assert.equal(first!.id, 1);
    assert.equal(first!.error.code, FORBIDDEN_TOOL);
    assert.match(first!.error.message, /^not sent: this batch also calls tool "delete_entities"/);
    assert.equal(first!.error.data.reason, 'batch-refused');
    assert.equal(second!.id, 2);
    assert.deepEqual(second!.error.data, {
      reason: 'forbidden',
      server: 'memory',
      tool: 'delete_entities',
      rule: 'memory:access.tools.deny',
    });
    const now = await graph();
    assert.match(now, /keep-me/, 'the delete did not run');
    assert.doesNotMatch(now, /from-batch/, 'nor did the allowed call beside it');
  });

  it('a 2026-07-28 request whose Mcp-Name names an allowed tool while the body calls a forbidden one: 400 / -32020, not sent', async function () {
    const envelope = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'sneaky', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const deleteSaying = (id: number, nameHeader: string) =>
      post(
        'memory',
        'alice',
        {
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: {
            name: 'delete_entities',
            arguments: { entityNames: ['keep-me'] },
            _meta: envelope,
          },
        },
        {
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': nameHeader,
        },
      );
    const reply = await deleteSaying(7, 'read_graph');
    assert.equal(reply.status, 400);
    assert.equal((reply.body as { error: { code: number } }).error.code, -32020);
    // With headers that agree, the body's tool is what the policy judges.
    const agreeing = await deleteSaying(8, 'delete_entities');
    assert.equal(agreeing.status, 200);
    assert.equal((agreeing.body as { error: { code: number } }).error.code, FORBIDDEN_TOOL);
    assert.match(await graph(), /keep-me/);
  });

  it('a 2026-07-28 tools/list of a 2025 server is both translated and filtered', async function () {
    const reply = await post(
      'memory',
      'alice',
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/list',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 'modern', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      },
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const result = (reply.body as { result: Record<string, unknown> }).result;
    assert.equal(result.resultType, 'complete', 'in 2026-07-28 words');
    assert.equal(result.cacheScope, 'private');
    const names = (result.tools as { name: string }[]).map((t) => t.name);
    assert.ok(names.includes('read_graph'));
    assert.deepEqual(
      names.filter((n) => n.startsWith('delete_')),
      [],
      'and only the callable tools',
    );
  });

  it('a changed access block applies while serving, with no restart', async function () {
    assert.ok((await toolNames('plain', 'bob')).includes('echo'));
    await addServer(path.join(dir, 'servers'), 'everything', 'plain', {
      groups: ['memory-users'],
    });
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await post('plain', 'bob', { jsonrpc: '2.0', id: 1, method: 'ping' })).status;
      if (status === 403) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 403, 'bob is not in memory-users: refused once the registry changed');
    assert.ok((await toolNames('plain', 'alice')).includes('echo'), 'alice is');
  });
});
