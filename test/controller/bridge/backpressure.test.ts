// A notification flood to a client that does not read, from a real child (the hostile
// fixture's `flood` tool, which sends for as long as its stdout takes them). A session's own
// child is held: the flood stops where the pipes and sockets are full, and what the bridge
// itself holds stays small. The shared sessionless child is never held (other clients use
// it): the exchange's response is capped, then ended with a JSON-RPC error per request.
// Loopback socket buffers absorb tens of MiB, so the tests look at what the bridge's own
// response holds, and wait for the flood to settle rather than for a time.
import type { ServerResponse } from 'node:http';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_NOT_READING } from '../../../controller/bridge/jsonrpc.ts';
import { startStdioBridge, type StdioBridge } from '../../../controller/bridge/stdio-bridge.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { HOSTILE_SERVER, waitFor } from '../support/processes.ts';

/** What a held bridge may have in its response: a socket write's worth beyond its mark. */
const BRIDGE_BUFFER_LIMIT = 256 * 1024;

function floodRequest(port: number, headers: Record<string, string>, params: object): string {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params });
  const lines = Object.entries({
    host: `127.0.0.1:${port}`,
    'content-type': 'application/json',
    accept: 'text/event-stream',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  return `POST /mcp HTTP/1.1\r\n${lines.join('')}\r\n${body}`;
}

/** A client that sends its request and reads nothing. */
async function silentClient(port: number, request: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.pause();
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(request);
  return socket;
}

describe('stdio bridge backpressure', function () {
  this.timeout(60_000);
  let bridge: StdioBridge | undefined;
  let socket: Socket | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'mcpfleet-flood-'));
  const progressFile = join(dir, 'progress');
  const sent = (): number => {
    try {
      return Number(readFileSync(progressFile, 'utf8'));
    } catch {
      return 0;
    }
  };
  afterEach(async () => {
    socket?.destroy();
    await bridge?.close();
  });

  async function start(maxBufferedBytes?: number): Promise<StdioBridge> {
    bridge = await startStdioBridge({
      command: {
        command: process.execPath,
        args: [HOSTILE_SERVER],
        env: { HOSTILE_PROGRESS_FILE: progressFile, HOSTILE_LINE_BYTES: '1000' },
      },
      logger: silentLogger(),
      warmSpares: 0,
      ...(maxBufferedBytes ? { maxBufferedBytes } : {}),
    });
    return bridge;
  }

  it("holds a session's child while its client does not read", async () => {
    const b = await start();
    const init = await fetch(b.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: initializeBody(),
    });
    const sessionId = init.headers.get('mcp-session-id')!;
    await init.text();
    let relayed: ServerResponse | undefined;
    b.server.once('request', (_req, res: ServerResponse) => (relayed = res));
    socket = await silentClient(
      b.port,
      floodRequest(b.port, { 'mcp-session-id': sessionId }, { name: 'flood', arguments: {} }),
    );
    // Settled: the child stopped getting notifications out, four looks in a row.
    let last = -1;
    let still = 0;
    await waitFor(
      async () => {
        const now = sent();
        still = now > 0 && now === last ? still + 1 : 0;
        last = now;
        await new Promise((resolve) => setTimeout(resolve, 250));
        return still >= 4;
      },
      30_000,
      'the flood to stop while nobody reads',
    );
    assert.ok(relayed, 'the flood request reached the bridge');
    assert.ok(
      relayed.writableLength <= BRIDGE_BUFFER_LIMIT,
      `the bridge holds ${relayed.writableLength} bytes for a client that does not read`,
    );
    assert.equal(relayed.writableEnded, false, 'the stream is still open: held, not cut');
  });

  it('caps what the shared child sends to a client that does not read, then ends with an error', async () => {
    const cap = 256 * 1024;
    const b = await start(cap);
    let relayed: ServerResponse | undefined;
    b.server.once('request', (_req, res: ServerResponse) => (relayed = res));
    socket = await silentClient(
      b.port,
      floodRequest(
        b.port,
        {},
        { name: 'flood', arguments: { progress: true }, _meta: { progressToken: 'p' } },
      ),
    );
    await waitFor(() => relayed?.writableEnded === true, 30_000, 'the bridge to end the stream');
    assert.ok(relayed!.writableLength <= cap + 64 * 1024, `${relayed!.writableLength} held`);
    // Now read it all: events, then an error for request 7, then the end of the stream.
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.resume();
    await waitFor(() => text.includes('\r\n0\r\n\r\n'), 30_000, 'the end of the stream');
    const events = [...text.matchAll(/^data: (.*)$/gm)].map(
      (m) =>
        JSON.parse(m[1]!) as {
          id?: number;
          method?: string;
          error?: { code: number; message: string };
        },
    );
    const last = events.at(-1)!;
    assert.equal(last.id, 7);
    assert.equal(last.error?.code, CLIENT_NOT_READING);
    assert.match(last.error!.message, /did not read its stream .* at most 256 KiB per request/);
    assert.ok(events.slice(0, -1).every((e) => e.method === 'notifications/progress'));
  });
});
