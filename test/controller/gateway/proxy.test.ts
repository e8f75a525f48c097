// The gateway as a faithful Streamable HTTP proxy in front of a real MCP server
// (server-everything, HTTP mode), driven by the real MCP SDK client.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'undici';
import { startEverythingHttp, type Backend } from './everything-backend.ts';
import { StaticFleet } from './static-fleet.ts';
import { startGateway, waitFor, type RunningGateway } from './start-gateway.ts';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'gateway-test', version: '1.0.0' },
  },
};
const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

describe('gateway proxy (server-everything behind it)', function () {
  let backend: Backend;
  let fleet: StaticFleet;
  let gateway: RunningGateway;

  before(async function () {
    backend = await startEverythingHttp();
  });
  after(async function () {
    await backend?.stop();
  });
  beforeEach(async function () {
    fleet = new StaticFleet({ everything: backend.url });
    gateway = await startGateway(fleet);
  });
  afterEach(async function () {
    await gateway.close();
  });

  async function connect(): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const client = new Client({ name: 'gateway-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(gateway.mcpUrl('everything')));
    await client.connect(transport);
    return { client, transport };
  }

  /** Raw initialize through the gateway; returns the minted session id. */
  async function rawInitialize(): Promise<string> {
    const res = await request(gateway.mcpUrl('everything'), {
      method: 'POST',
      headers: MCP_HEADERS,
      body: JSON.stringify(INIT),
    });
    await res.body.text();
    assert.equal(res.statusCode, 200);
    const sessionId = res.headers['mcp-session-id'];
    assert.equal(typeof sessionId, 'string');
    const initialized = await request(gateway.mcpUrl('everything'), {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId as string },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    await initialized.body.text();
    assert.equal(initialized.statusCode, 202);
    return sessionId as string;
  }

  it('lists and calls tools with the SDK client, and tells the fleet about the session', async function () {
    const { client, transport } = await connect();
    const { tools } = await client.listTools();
    assert.ok(
      tools.some((t) => t.name === 'echo'),
      'echo tool listed',
    );
    const result = await client.callTool({ name: 'echo', arguments: { message: 'via gateway' } });
    assert.deepEqual(result.content, [{ type: 'text', text: 'Echo: via gateway' }]);

    const sessionId = transport.sessionId;
    assert.ok(sessionId, 'the client got a session id through the proxy');
    assert.deepEqual(fleet.opened, [{ slug: 'everything', sessionId, replicaId: 'everything-0' }]);
    const requestLeases = fleet.leases.filter((l) => l.options.kind === 'request');
    assert.ok(requestLeases.length >= 3, 'initialize, initialized, tools/list, tools/call');
    await waitFor(
      () => requestLeases.every((l) => l.releases === 1),
      'every request lease released exactly once',
    );
    assert.ok(requestLeases.filter((l) => l.options.sessionId === sessionId).length >= 2);

    await transport.terminateSession();
    await client.close();
    assert.deepEqual(fleet.closed, [{ slug: 'everything', sessionId }]);
    await waitFor(() => fleet.live().length === 0, 'all leases released after close');
    assert.ok(
      fleet.leases.every((l) => l.releases === 1),
      'no lease released twice',
    );
  });

  it('opens the standalone GET SSE stream as a "stream" lease and ends it cleanly when the lease aborts', async function () {
    const sessionId = await rawInitialize();
    const res = await request(gateway.mcpUrl('everything'), {
      method: 'GET',
      headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId },
    });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/event-stream/);
    const stream = fleet.live().find((l) => l.options.kind === 'stream');
    assert.ok(stream, 'GET acquired with kind "stream"');
    assert.equal(stream.options.sessionId, sessionId);

    // The fleet takes the server away (sleep): the client stream ends, without an error.
    stream.abort();
    await res.body.text();
    await waitFor(() => stream.releases === 1, 'stream lease released');
  });

  it('passes SSE events through unbuffered, each as it is produced', async function () {
    const { client } = await connect();
    const arrivals: number[] = [];
    const started = Date.now();
    const result = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 1.2, steps: 4 } },
      undefined,
      { onprogress: () => arrivals.push(Date.now() - started) },
    );
    const finished = Date.now() - started;
    await client.close();
    assert.match(JSON.stringify(result.content), /Long running operation completed/);
    assert.equal(arrivals.length, 4, 'four progress notifications');
    // The upstream spaces them 300 ms apart. A buffering proxy would deliver them together
    // with the result; an unbuffered one delivers each as it comes.
    for (let i = 1; i < arrivals.length; i++) {
      const gap = arrivals[i]! - arrivals[i - 1]!;
      assert.ok(gap >= 150, `progress ${i} arrived ${gap} ms after the previous one`);
    }
    assert.ok(finished - arrivals[0]! >= 600, 'first progress well before the result');
  });

  it('answers 404 for an unknown session and tells the fleet it is gone', async function () {
    const res = await request(gateway.mcpUrl('everything'), {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
    });
    assert.equal(res.statusCode, 404);
    const body = (await res.body.json()) as { id: unknown; error: { code: number } };
    assert.equal(body.id, 5);
    assert.equal(body.error.code, -32001);
    assert.deepEqual(fleet.closed, [{ slug: 'everything', sessionId: 'no-such-session' }]);
  });

  it('answers 404 for a session after DELETE ended it', async function () {
    const sessionId = await rawInitialize();
    const del = await request(gateway.mcpUrl('everything'), {
      method: 'DELETE',
      headers: { 'mcp-session-id': sessionId },
    });
    await del.body.text();
    assert.equal(del.statusCode, 200);
    assert.deepEqual(fleet.closed, [{ slug: 'everything', sessionId }]);

    const again = await request(gateway.mcpUrl('everything'), {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    await again.body.text();
    assert.equal(again.statusCode, 404);
  });

  it('releases the lease and aborts the upstream when the client disconnects mid-stream', async function () {
    const sessionId = await rawInitialize();
    const res = await request(gateway.mcpUrl('everything'), {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: {
          name: 'trigger-long-running-operation',
          arguments: { duration: 30, steps: 300 },
          _meta: { progressToken: 'p1' },
        },
      }),
    });
    assert.equal(res.statusCode, 200);
    // Read until the first progress event is through, then hang up.
    for await (const chunk of res.body) {
      if (String(chunk).includes('notifications/progress')) break;
    }
    const call = fleet.leases.find((l) => l.options.kind === 'request' && l.releases === 0);
    res.body.destroy();
    await waitFor(() => fleet.live().length === 0, 'lease released after the client left');
    assert.ok(call === undefined || call.releases === 1);
    await waitFor(() => gatewayUpstreamRunning() === 0, 'upstream request aborted');
  });

  function gatewayUpstreamRunning(): number {
    return gateway.controller.gateway.upstreamStats().running;
  }
});
