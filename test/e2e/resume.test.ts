// Resumability end to end: an SDK client calls a stdio server through the gateway and the
// bridge; its SSE stream breaks after the first event (the connection is cut, as a network
// drop would); the client resumes with Last-Event-ID through the gateway, and the call
// still returns its result.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTestFleet, type TestFleet } from '../controller/fleet/harness.ts';
import { stdioFixture } from '../controller/fleet/specs.ts';
import { startGateway, type RunningGateway } from '../controller/gateway/start-gateway.ts';

/**
 * fetch for the client, cutting the connection of the first SSE reply to a `progress` tool
 * call right after its first event; records the Last-Event-ID of every GET.
 */
function droppingFetch(resumedFrom: string[]): typeof fetch {
  let dropped = false;
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    if (init?.method === 'GET' && headers.has('last-event-id')) {
      resumedFrom.push(headers.get('last-event-id')!);
    }
    const body = typeof init?.body === 'string' ? init.body : '';
    if (dropped || init?.method !== 'POST' || !body.includes('"progress"')) {
      return fetch(input, init);
    }
    dropped = true;
    const connection = new AbortController();
    const res = await fetch(input, { ...init, signal: connection.signal });
    const reader = res.body!.getReader();
    let seen = '';
    const cut = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) return controller.close();
        controller.enqueue(value);
        seen += new TextDecoder().decode(value);
        if (seen.includes('\n\n')) {
          connection.abort(); // the connection goes down with the rest of the stream
          controller.error(new TypeError('network connection lost'));
        }
      },
    });
    return new Response(cut, { status: res.status, headers: res.headers });
  };
}

describe('resuming a broken stream through the gateway (SDK client)', function () {
  this.timeout(30_000);
  let t: TestFleet;
  let gateway: RunningGateway;

  before(async function () {
    t = await startTestFleet([stdioFixture('resumable', 'normal')]);
    gateway = await startGateway(t.fleet);
  });
  after(async function () {
    await gateway?.close();
    await t?.fleet.stop();
  });

  it('gets the result of a call whose SSE stream broke after its first event', async function () {
    const resumedFrom: string[] = [];
    const transport = new StreamableHTTPClientTransport(new URL(gateway.mcpUrl('resumable')), {
      fetch: droppingFetch(resumedFrom),
      reconnectionOptions: {
        initialReconnectionDelay: 20,
        maxReconnectionDelay: 200,
        reconnectionDelayGrowFactor: 2,
        maxRetries: 5,
      },
    });
    const client = new Client({ name: 'resume-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const progress: number[] = [];
      const result = await client.callTool(
        { name: 'progress', arguments: { ms: 300 } },
        undefined,
        { onprogress: (p) => progress.push(p.progress) },
      );
      assert.deepEqual(result.content, [{ type: 'text', text: 'progress done' }]);
      assert.deepEqual(progress, [1]);
      assert.equal(resumedFrom.length, 1, 'the client resumed once');
      assert.match(resumedFrom[0]!, /^p\d+-1$/);
    } finally {
      await client.close();
    }
  });
});
