// Keep-alive comments on relayed SSE streams (issue 8.12): a load balancer cuts a connection
// that carries nothing for its idle timeout, so the gateway writes an SSE comment into a quiet
// stream — and only ever between two events, never inside one the upstream paused in.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ServerResponse } from 'node:http';
import { endsEvent } from '../../../controller/gateway/sse-keepalive.ts';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.ts';
import { StaticFleet } from './static-fleet.ts';
import { startGateway, waitFor, type RunningGateway } from './start-gateway.ts';

const KEEPALIVE_MS = 40;
const CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: { name: 'slow' },
});
const EVENT = 'event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{"content":[]}}\n\n';

/** Posts CALL and collects the response body as it streams, until `done` says so. */
function postAndRead(url: string): { text: () => string; status: Promise<number>; close(): void } {
  let body = '';
  const req = http.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
  });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  req.end(CALL);
  return { text: () => body, status, close: () => req.destroy() };
}

function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
}

describe('gateway: SSE keep-alive comments on relayed streams', function () {
  let upstream: RecordingUpstream;
  let gateway: RunningGateway;
  const open: ServerResponse[] = [];

  beforeEach(async () => {
    upstream = await startRecordingUpstream(() => {});
    gateway = await startGateway(new StaticFleet({ slow: upstream.url }), {
      sseKeepaliveMs: KEEPALIVE_MS,
    });
  });
  afterEach(async () => {
    for (const res of open.splice(0)) res.destroy();
    await gateway.close();
    await upstream.close();
  });

  it('writes a comment into a quiet stream after each quiet interval', async () => {
    upstream.respond = (_req, res) => {
      open.push(res);
      sseHead(res);
      res.write(': started\n\n');
    };
    const call = postAndRead(gateway.mcpUrl('slow'));
    assert.equal(await call.status, 200);
    await waitFor(() => call.text().split(': keepalive\n\n').length > 3, 'three keep-alives');
    assert.ok(call.text().startsWith(': started\n\n'), call.text());
    call.close();
  });

  it('never writes one inside an event the upstream paused in', async () => {
    let finish!: () => void;
    upstream.respond = (_req, res) => {
      open.push(res);
      sseHead(res);
      const half = EVENT.length / 2;
      res.write(EVENT.slice(0, half));
      finish = () => res.write(EVENT.slice(half));
    };
    const call = postAndRead(gateway.mcpUrl('slow'));
    assert.equal(await call.status, 200);
    await waitFor(() => finish !== undefined && call.text().length > 0, 'the first half');
    // Many keep-alive intervals pass with the stream mid-event.
    await new Promise((resolve) => setTimeout(resolve, KEEPALIVE_MS * 6));
    finish();
    await waitFor(() => call.text().includes(': keepalive'), 'a keep-alive after the event');
    assert.ok(
      call.text().startsWith(EVENT),
      `the event arrived whole: ${JSON.stringify(call.text())}`,
    );
    call.close();
  });

  it('stops with the stream, and leaves JSON replies alone', async () => {
    upstream.respond = (_req, res) => {
      sseHead(res);
      res.end(EVENT);
    };
    const sse = postAndRead(gateway.mcpUrl('slow'));
    assert.equal(await sse.status, 200);
    await waitFor(() => sse.text() === EVENT, 'the whole stream');

    upstream.respond = (_req, res) => {
      open.push(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"jsonrpc":"2.0","id":7,');
    };
    const json = postAndRead(gateway.mcpUrl('slow'));
    assert.equal(await json.status, 200);
    await new Promise((resolve) => setTimeout(resolve, KEEPALIVE_MS * 4));
    assert.equal(json.text(), '{"jsonrpc":"2.0","id":7,');
    assert.equal(sse.text(), EVENT, 'nothing after the end');
    json.close();
  });

  it('knows an event boundary in every line-ending style, and a lone CR is none', () => {
    for (const tail of ['x\n\n', 'x\r\n\r\n', 'x\n\r\n', 'x\r\r\n', 'x\r\r', '\r\n\n'])
      assert.ok(endsEvent(tail), JSON.stringify(tail));
    for (const tail of ['data: x', 'x\n', 'x\r\n', 'x\r', 'x\r\n\r'])
      assert.ok(!endsEvent(tail), JSON.stringify(tail));
  });
});
