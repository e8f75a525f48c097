// SIGTERM with calls in flight, against a real controller process: the calls finish with their
// real answers within the shutdown grace, the ones still running past it end with a JSON-RPC
// error (a 503 body, or the last event of an SSE stream), and every request arriving meanwhile
// gets a 503 with a JSON-RPC error — never a 500, never a stream that ends with no answer.
// Through a stdio server (the fixture's `slow` tool, behind the bridge) and an HTTP one
// (server-everything's long-running operation, answered over SSE).
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { ServerStatus } from '../../../controller/api/types.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { EVERYTHING_BIN, waitFor } from '../support/processes.ts';
import { everythingHttp, stdioFixture } from './specs.ts';
import {
  answerTo,
  openSession,
  postMcp,
  startServe,
  toolCall,
  type McpReply,
  type ServeProcess,
} from './serve-process.ts';

const SPECS = [
  stdioFixture('slow-stdio', 'normal'),
  {
    ...everythingHttp('slow-http'),
    local: {
      runnable: true as const,
      command: process.execPath,
      args: [EVERYTHING_BIN, 'streamableHttp'],
      requires: [],
    },
  },
];

interface InFlightCalls {
  stdio: Promise<McpReply>;
  http: Promise<McpReply>;
}

/** A slow call on each server, resolved once the controller counts both as in flight. */
async function startSlowCalls(serve: ServeProcess, seconds: number): Promise<InFlightCalls> {
  const stdioUrl = `${serve.base}/servers/slow-stdio/mcp`;
  const httpUrl = `${serve.base}/servers/slow-http/mcp`;
  const [stdioSession, httpSession] = await Promise.all([
    openSession(stdioUrl),
    openSession(httpUrl),
  ]);
  const calls = {
    stdio: postMcp(stdioUrl, toolCall(7, 'slow', { ms: seconds * 1000 }), stdioSession),
    http: postMcp(
      httpUrl,
      toolCall(8, 'trigger-long-running-operation', { duration: seconds, steps: 2 }),
      httpSession,
    ),
  };
  await waitFor(
    async () => {
      const { servers } = (await (await request(`${serve.base}/api/v1/servers`)).body.json()) as {
        servers: ServerStatus[];
      };
      return servers.every((s) => s.inFlight >= 1);
    },
    15_000,
    'both calls in flight',
  );
  return calls;
}

/** After SIGTERM: new requests get 503 with a JSON-RPC error (polled until the signal lands). */
async function assertRefusesNewRequests(serve: ServeProcess): Promise<void> {
  let refused: McpReply | undefined;
  await waitFor(
    async () => {
      const reply = await postMcp(`${serve.base}/servers/slow-stdio/mcp`, initializeBody(99));
      assert.notEqual(reply.status, 500, JSON.stringify(reply.messages));
      if (reply.status === 503) refused = reply;
      return refused !== undefined;
    },
    10_000,
    'a new request to be refused',
  );
  assert.equal(refused!.messages.length, 1);
  assert.equal(refused!.messages[0]!.id, 99);
  assert.match(refused!.messages[0]!.error?.message ?? '', /shutting down/);
  const ready = await request(`${serve.base}/readyz`);
  assert.equal(ready.statusCode, 503, 'a shutting-down controller is not ready');
  assert.equal(((await ready.body.json()) as { status: string }).status, 'not-ready');
}

describe('controller shutdown with calls in flight (mcpfleet serve)', function () {
  this.timeout(120_000);
  let serve: ServeProcess | undefined;
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(serve?.output());
    await serve?.cleanup();
    serve = undefined;
  });

  it('lets calls in flight finish with their real answers within the grace, refusing new ones', async function () {
    serve = await startServe(SPECS, ['--data-dir', 'memory://', '--shutdown-grace', '60s']);
    const calls = await startSlowCalls(serve, 3);
    serve.child.kill('SIGTERM');
    await assertRefusesNewRequests(serve);

    const stdio = await calls.stdio;
    assert.equal(stdio.status, 200);
    assert.deepEqual(answerTo(stdio, 7)?.result?.content, [{ type: 'text', text: 'slow done' }]);
    const http = await calls.http;
    assert.equal(http.status, 200);
    assert.match(
      JSON.stringify(answerTo(http, 8)?.result?.content),
      /Long running operation completed/,
    );
    assert.equal(await serve.exited, 0, serve.output());
  });

  it('ends the calls still running after the grace with a JSON-RPC error, not before it', async function () {
    const graceMs = 1500;
    serve = await startServe(SPECS, [
      '--data-dir',
      'memory://',
      '--shutdown-grace',
      `${graceMs}ms`,
    ]);
    const calls = await startSlowCalls(serve, 60);
    const signalledAt = Date.now();
    serve.child.kill('SIGTERM');
    const ended = (reply: McpReply) => ({ reply, afterMs: Date.now() - signalledAt });
    const [stdio, http] = await Promise.all([calls.stdio.then(ended), calls.http.then(ended)]);

    // The stdio call had no reply head yet: a 503 whose body is the JSON-RPC error.
    assert.equal(stdio.reply.status, 503);
    assert.ok(answerTo(stdio.reply, 7)?.error, JSON.stringify(stdio.reply.messages));
    // The HTTP call's SSE stream was open: its last event is the JSON-RPC error for it.
    assert.equal(http.reply.status, 200);
    const last = http.reply.messages.at(-1);
    assert.equal(last?.id, 8, JSON.stringify(http.reply.messages));
    assert.ok(last?.error, 'the stream ends with an error for the call');
    for (const { afterMs } of [stdio, http]) assert.ok(afterMs >= graceMs - 100, `${afterMs} ms`);
    assert.equal(await serve.exited, 0, serve.output());
  });
});
