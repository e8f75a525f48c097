import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  startStdioBridge,
  type StdioBridge,
  type StdioBridgeOptions,
} from '../../../controller/bridge/stdio-bridge.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import {
  EVERYTHING_BIN,
  FIXTURE_SERVER,
  groupMembers,
  isAlive,
  waitFor,
} from '../support/processes.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { sseEvents } from '../support/sse-events.ts';

const everything = { command: process.execPath, args: [EVERYTHING_BIN, 'stdio'] };
const fixture = (mode = 'normal', extraEnv: Record<string, string> = {}) => ({
  command: process.execPath,
  args: [FIXTURE_SERVER],
  env: { FIXTURE_MODE: mode, ...extraEnv },
});

async function connect(
  url: string,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'bridge-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

/** Reads `count` SSE events (id and the notification's data) from a streaming response. */
async function readSseEvents(
  res: Response,
  count: number,
): Promise<Array<{ id: string; data: string }>> {
  const events: Array<{ id: string; data: string }> = [];
  for await (const { id, data } of sseEvents(res)) {
    const notification = JSON.parse(data || '{}') as { params: { data: string } };
    events.push({ id, data: notification.params.data });
    if (events.length === count) break;
  }
  return events;
}

/** Reads `count` raw SSE events (id and data line) from a streaming response. */
async function readRawSseEvents(
  res: Response,
  count: number,
): Promise<Array<{ id: string; raw: string }>> {
  const events: Array<{ id: string; raw: string }> = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end: number;
    while (events.length < count && (end = text.indexOf('\n\n')) !== -1) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      events.push({
        id: /^id: (.*)$/m.exec(block)?.[1] ?? '',
        raw: /^data: (.*)$/m.exec(block)?.[1] ?? '',
      });
    }
  }
  reader.releaseLock();
  return events;
}

const jsonHeaders = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

describe('stdio bridge', function () {
  this.timeout(20_000);
  const bridges: StdioBridge[] = [];
  const clients: Client[] = [];

  async function bridge(
    options: Partial<StdioBridgeOptions> & Pick<StdioBridgeOptions, 'command'>,
  ): Promise<StdioBridge> {
    const b = await startStdioBridge({ logger: silentLogger(), ...options });
    bridges.push(b);
    return b;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
    await Promise.all(bridges.splice(0).map((b) => b.close()));
  });

  it('lists and calls tools of a real stdio server (server-everything)', async () => {
    const b = await bridge({ command: everything });
    const { client } = await connect(b.url);
    clients.push(client);
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'echo'));
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hello bridge' } });
    assert.match(JSON.stringify(result.content), /hello bridge/);
  });

  it('streams progress notifications before the response over SSE', async () => {
    const b = await bridge({ command: everything });
    const { client } = await connect(b.url);
    clients.push(client);
    const progress: number[] = [];
    const result = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    assert.deepEqual(progress, [1, 2, 3]);
    assert.match(JSON.stringify(result.content), /completed/);
  });

  it('gives each session its own child process', async () => {
    const b = await bridge({ command: fixture(), warmSpares: 0 });
    const a = await connect(b.url);
    const c = await connect(b.url);
    clients.push(a.client, c.client);
    const pidOf = async (client: Client) =>
      ((await client.callTool({ name: 'echo', arguments: {} })) as unknown as { pid: number }).pid;
    const [pidA, pidC] = await Promise.all([pidOf(a.client), pidOf(c.client)]);
    assert.notEqual(pidA, pidC);
    assert.equal(b.childCount(), 2);
    assert.equal(b.sessionCount(), 2);
  });

  it('kills the session child on DELETE, and the session is then unknown (404)', async () => {
    const b = await bridge({ command: fixture(), warmSpares: 0 });
    const { client, transport } = await connect(b.url);
    clients.push(client);
    const [pid] = b.childPids();
    assert.ok(pid && isAlive(pid));
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    assert.equal(isAlive(pid), false);
    const res = await fetch(b.url, {
      method: 'POST',
      headers: { ...jsonHeaders, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
    });
    assert.equal(res.status, 404);
  });

  it('answers 503 with Retry-After when the child cap is reached', async () => {
    const b = await bridge({ command: fixture(), warmSpares: 0, maxChildren: 1 });
    const first = await connect(b.url);
    clients.push(first.client);
    const res = await fetch(b.url, {
      method: 'POST',
      headers: jsonHeaders,
      body: initializeBody(),
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    const body = (await res.json()) as { error: { message: string } };
    assert.match(body.error.message, /capacity/);
  });

  it('answers a spawn failure (ENOENT) with a JSON-RPC error and keeps serving', async () => {
    const b = await bridge({ command: { command: '/nonexistent/mcp-server', args: [] } });
    for (const id of [1, 2]) {
      const res = await fetch(b.url, {
        method: 'POST',
        headers: jsonHeaders,
        body: initializeBody(id),
      });
      assert.equal(res.status, 502);
      const body = (await res.json()) as { id: number; error: { message: string } };
      assert.equal(body.id, id);
      assert.match(body.error.message, /ENOENT/);
    }
    const health = await fetch(b.url.replace(/\/mcp$/, '/healthz'));
    assert.equal(health.status, 200);
  });

  it('fails a request promptly when the child crashes mid-request', async () => {
    const b = await bridge({ command: fixture() });
    const { client } = await connect(b.url);
    clients.push(client);
    const started = Date.now();
    await assert.rejects(client.callTool({ name: 'crash', arguments: {} }), /exited with code 3/);
    assert.ok(Date.now() - started < 3000, 'error arrives promptly');
    // The bridge lives on: a new client gets a fresh child.
    const again = await connect(b.url);
    clients.push(again.client);
    await again.client.ping();
  });

  it('treats stderr output as logs, not errors', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) } as never);
    const b = await bridge({ command: fixture(), logger });
    const { client } = await connect(b.url);
    clients.push(client);
    await client.ping();
    await client.callTool({ name: 'echo', arguments: { a: 1 } });
    assert.ok(
      lines.some((l) => l.includes('noise: got')),
      'stderr reaches the log',
    );
  });

  it('serves sessionless (2026-07-28-style) requests from a shared child', async () => {
    const b = await bridge({ command: everything, warmSpares: 0 });
    const call = (id: number) =>
      fetch(b.url, {
        method: 'POST',
        headers: {
          ...jsonHeaders,
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/list',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' }),
      });
    const responses = await Promise.all([call(7), call(8)]);
    for (const [i, res] of responses.entries()) {
      assert.equal(res.status, 200);
      const body = (await res.json()) as { id: number; result: { tools: unknown[] } };
      assert.equal(body.id, 7 + i);
      assert.ok(body.result.tools.length > 0);
    }
    assert.equal(b.childCount(), 1);
  });

  it('answers sessionless pings from the warm spare, which then serves the next session', async () => {
    const b = await bridge({ command: everything });
    const ping = () =>
      fetch(b.url, {
        method: 'POST',
        headers: jsonHeaders,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
    // Concurrent pings with the same client id each get their own answer.
    const replies = await Promise.all([ping(), ping(), ping()]);
    for (const res of replies) {
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { jsonrpc: '2.0', id: 1, result: {} });
    }
    assert.equal(b.childCount(), 1, 'pings spent no process beyond the spare');
    assert.equal(b.sessionCount(), 0);
    // The pinged spare was never initialized: a client initializes it as usual.
    const { client } = await connect(b.url);
    clients.push(client);
    assert.ok((await client.listTools()).tools.length > 0);
    assert.equal(b.sessionCount(), 1);
  });

  it('answers a sessionless ping with 502 naming the exit when the process dies', async () => {
    const b = await bridge({ command: fixture('crash-at-start') });
    const res = await fetch(b.url, {
      method: 'POST',
      headers: jsonHeaders,
      body: JSON.stringify({ jsonrpc: '2.0', id: 'p', method: 'ping' }),
    });
    assert.equal(res.status, 502);
    const body = (await res.json()) as { id: string; error: { message: string } };
    assert.equal(body.id, 'p');
    assert.match(body.error.message, /exited with code 1.*fatal: fixture configured to crash/s);
  });

  it('keeps GET-stream events with ids, and replays the missed ones on Last-Event-ID', async () => {
    const b = await bridge({ command: fixture() });
    const init = await fetch(b.url, {
      method: 'POST',
      headers: jsonHeaders,
      body: initializeBody(),
    });
    await init.text();
    const headers = { ...jsonHeaders, 'mcp-session-id': init.headers.get('mcp-session-id')! };
    let nextId = 10;
    const emit = async (first: number, count: number) => {
      const res = await fetch(b.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: nextId++,
          method: 'tools/call',
          params: { name: 'emit', arguments: { first, count } },
        }),
      });
      await res.text();
    };
    const stream = async (lastEventId: string | undefined, expected: number) => {
      const abort = new AbortController();
      const res = await fetch(b.url, {
        headers: {
          accept: 'text/event-stream',
          'mcp-session-id': headers['mcp-session-id'],
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
        signal: abort.signal,
      });
      assert.equal(res.status, 200);
      const events = await readSseEvents(res, expected);
      abort.abort();
      return events;
    };

    // Sent while no stream is open: kept, then delivered when one opens.
    await emit(1, 3);
    assert.deepEqual(await stream(undefined, 3), [
      { id: '1', data: 'event 1' },
      { id: '2', data: 'event 2' },
      { id: '3', data: 'event 3' },
    ]);
    // The client's stream broke after it had processed event 1; more came meanwhile.
    await emit(4, 2);
    assert.deepEqual(
      (await stream('1', 4)).map((e) => e.id),
      ['2', '3', '4', '5'],
    );
  });

  describe('resuming a broken POST stream', function () {
    async function openSession(b: StdioBridge): Promise<Record<string, string>> {
      const init = await fetch(b.url, {
        method: 'POST',
        headers: jsonHeaders,
        body: initializeBody(),
      });
      await init.text();
      return { ...jsonHeaders, 'mcp-session-id': init.headers.get('mcp-session-id')! };
    }
    /** A tools/call `progress` whose stream is cut after its first event; that event. */
    async function callAndDisconnect(
      b: StdioBridge,
      headers: Record<string, string>,
      ms: number,
    ): Promise<{ id: string; raw: string }> {
      const abort = new AbortController();
      const res = await fetch(b.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: { name: 'progress', arguments: { ms }, _meta: { progressToken: 'tok' } },
        }),
        signal: abort.signal,
      });
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      const [first] = await readRawSseEvents(res, 1);
      abort.abort();
      return first!;
    }

    it('continues the stream on a GET with Last-Event-ID, up to the answer', async () => {
      const b = await bridge({ command: fixture() });
      const headers = await openSession(b);
      const first = await callAndDisconnect(b, headers, 300);
      assert.match(first.id, /^p\d+-1$/);
      assert.match(first.raw, /notifications\/progress/);
      const res = await fetch(b.url, {
        headers: {
          accept: 'text/event-stream',
          'mcp-session-id': headers['mcp-session-id']!,
          'last-event-id': first.id,
        },
      });
      assert.equal(res.status, 200);
      // Asks for more than one: the resumed stream ends after the last answer, like the
      // original would have, so exactly one comes.
      const rest = await readRawSseEvents(res, 2);
      assert.equal(rest.length, 1);
      assert.equal(rest[0]!.id, first.id.replace(/-1$/, '-2'));
      const answer = JSON.parse(rest[0]!.raw) as { id: number; result: { content: unknown[] } };
      assert.equal(answer.id, 7);
      assert.deepEqual(answer.result.content, [{ type: 'text', text: 'progress done' }]);
    });

    it('cancels the request when nobody resumes within the grace period', async () => {
      const lines: string[] = [];
      const { pino } = await import('pino');
      const logger = pino({ level: 'info' }, {
        write: (line: string) => lines.push(line),
      } as never);
      const b = await bridge({ command: fixture(), logger, resumeGraceMs: 50 });
      const headers = await openSession(b);
      await callAndDisconnect(b, headers, 10_000);
      await waitFor(
        () => lines.some((line) => line.includes('cancelled 7')),
        10_000,
        'the server to be told the request is cancelled',
      );
    });
  });

  it('answers notifications-only POSTs with 202 and bad JSON with 400', async () => {
    const b = await bridge({ command: fixture() });
    const { client, transport } = await connect(b.url);
    clients.push(client);
    const headers = { ...jsonHeaders, 'mcp-session-id': transport.sessionId! };
    const note = await fetch(b.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }),
    });
    assert.equal(note.status, 202);
    const bad = await fetch(b.url, { method: 'POST', headers, body: '{nope' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: number } }).error.code, -32700);
  });

  it('leaves no process behind after close, including grandchildren', async () => {
    // The shell's background sleep is a grandchild in the child's process group.
    const b = await bridge({
      command: {
        command: '/bin/sh',
        args: ['-c', `sleep 30 & exec "${process.execPath}" "${FIXTURE_SERVER}"`],
      },
    });
    const { client } = await connect(b.url);
    clients.push(client);
    const second = await connect(b.url);
    clients.push(second.client);
    const pids = b.childPids();
    assert.ok(pids.length >= 2);
    await waitFor(() => pids.every((pid) => groupMembers(pid).length >= 2), 5000, 'grandchildren');
    await b.close();
    for (const pid of pids) assert.equal(isAlive(pid), false, `child ${pid} is gone`);
    // The group was SIGKILLed; give the kernel a moment to deliver it to the grandchild.
    await waitFor(() => pids.every((pid) => groupMembers(pid).length === 0), 2000, 'empty groups');
  });
});
