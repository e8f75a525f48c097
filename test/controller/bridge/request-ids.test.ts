// Request ids the bridge cannot answer apart: a batch with two requests under one id, and a
// request reusing the id of one still in flight in its session. Each is refused with -32600
// naming the id (JSON-RPC matches answers by id alone; MCP forbids reusing one in a session),
// and no answer of anyone else's is lost. Against a real bridge and a real stdio child.
import assert from 'node:assert/strict';
import { startStdioBridge, type StdioBridge } from '../../../controller/bridge/stdio-bridge.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { FIXTURE_SERVER } from '../support/processes.ts';
import { sseEvents } from '../support/sse-events.ts';

const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json' };

interface Answer {
  id: string | number | null;
  result?: { content?: Array<{ text: string }> };
  error?: { code: number; message: string };
}

function call(id: string | number, name: string, args: Record<string, unknown> = {}): object {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

describe('stdio bridge request ids', function () {
  this.timeout(20_000);
  let bridge: StdioBridge;
  let headers: Record<string, string>;

  beforeEach(async () => {
    bridge = await startStdioBridge({
      logger: silentLogger(),
      command: {
        command: process.execPath,
        args: [FIXTURE_SERVER],
        env: { FIXTURE_MODE: 'normal' },
      },
    });
    const init = await fetch(bridge.url, {
      method: 'POST',
      headers: jsonHeaders,
      body: initializeBody(),
    });
    assert.equal(init.status, 200);
    await init.text();
    headers = { ...jsonHeaders, 'mcp-session-id': init.headers.get('mcp-session-id')! };
  });
  afterEach(async () => {
    await bridge.close();
  });

  async function post(body: unknown): Promise<{ status: number; json: Answer | Answer[] }> {
    const res = await fetch(bridge.url, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Answer | Answer[] };
  }

  it('refuses a batch whose requests share an id with 400 and -32600 naming it', async () => {
    const refused = await post([
      call(1, 'echo', { n: 'a' }),
      call(2, 'echo'),
      call(1, 'echo', { n: 'b' }),
    ]);
    assert.equal(refused.status, 400);
    const error = refused.json as Answer;
    assert.equal(error.id, null);
    assert.equal(error.error?.code, -32600);
    assert.match(error.error!.message, /id 1 is used by more than one request of this batch/);
    // 1 and "1" are two ids: that batch is answered whole, each request once.
    const answered = await post([call(1, 'echo', { n: 'a' }), call('1', 'echo', { n: 'b' })]);
    assert.equal(answered.status, 200);
    const answers = answered.json as Answer[];
    assert.deepEqual(answers.map((a) => a.id).sort(), [1, '1'].sort());
    assert.ok(answers.every((a) => a.result !== undefined));
  });

  it('refuses a request reusing the id of one in flight, and still answers the first', async () => {
    const first = await fetch(bridge.url, {
      method: 'POST',
      headers: { ...headers, accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        ...call(7, 'progress', { ms: 600 }),
        params: { name: 'progress', arguments: { ms: 600 }, _meta: { progressToken: 'p7' } },
      }),
    });
    // Its progress notification comes first: the child has request 7 and works on it.
    const events = sseEvents(first);
    assert.match((await events.next()).value?.data ?? '', /notifications\/progress/);
    const second = await post({ jsonrpc: '2.0', id: 7, method: 'ping' });
    assert.equal(second.status, 200);
    const refusal = second.json as Answer;
    assert.equal(refusal.id, 7);
    assert.equal(refusal.error?.code, -32600);
    assert.match(refusal.error!.message, /id 7 is already used by a request of this session/);
    const answer = JSON.parse((await events.next()).value?.data ?? '') as Answer;
    assert.equal(answer.id, 7);
    assert.equal(answer.result?.content?.[0]?.text, 'progress done');
  });
});
