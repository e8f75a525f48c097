// The response rewriter of era translation: JSON bodies rewritten whole, SSE bodies event by
// event even when an event arrives split across chunks, and anything that is not JSON-RPC
// passed through untouched.
import assert from 'node:assert/strict';
import { bodyRewriter, type MessageRewrite } from '../../../controller/eras/message-rewrite.ts';

const stamp: MessageRewrite = (m) =>
  'result' in m ? { ...m, result: { ...(m.result as object), stamped: true } } : m;

function run(contentType: string, chunks: string[]): string {
  const rewriter = bodyRewriter(contentType, stamp);
  let out = '';
  for (const chunk of chunks) out += rewriter.data(Buffer.from(chunk))?.toString() ?? '';
  return out + (rewriter.end()?.toString() ?? '');
}

describe('era translation: response rewriting', function () {
  it('rewrites a JSON body (one message or a batch) when it has all arrived', function () {
    const one = run('application/json', ['{"jsonrpc":"2.0","id":1,', '"result":{"a":1}}']);
    assert.deepEqual(JSON.parse(one), { jsonrpc: '2.0', id: 1, result: { a: 1, stamped: true } });
    const batch = JSON.parse(
      run('application/json', ['[{"id":1,"result":{}},{"id":2,"error":{}}]']),
    );
    assert.deepEqual(batch, [
      { id: 1, result: { stamped: true } },
      { id: 2, error: {} },
    ]);
  });

  it('rewrites SSE events one by one, holding back only an unfinished one', function () {
    const rewriter = bodyRewriter('text/event-stream', stamp);
    const first = rewriter.data(
      Buffer.from('id: 1\ndata: {"method":"notifications/progress"}\n\nid: 2\ndata: {"id":7,'),
    );
    assert.equal(
      first?.toString(),
      'id: 1\ndata: {"method":"notifications/progress"}\n\n',
      'the first event flows at once',
    );
    const second = rewriter.data(Buffer.from('"result":{}}\n\n'));
    assert.equal(second?.toString(), 'id: 2\ndata: {"id":7,"result":{"stamped":true}}\n\n');
    assert.equal(rewriter.end(), undefined);
  });

  it('passes priming events, comments and non-JSON data through as they came', function () {
    const text = ': keepalive\n\nid: 0\ndata: \n\ndata: not json\n\n';
    assert.equal(run('text/event-stream', [text]), text);
    assert.equal(run('application/json', ['not json']), 'not json');
  });

  it('handles CRLF event boundaries', function () {
    const out = run('text/event-stream', ['data: {"id":1,"result":{}}\r\n\r\n']);
    assert.match(out, /"stamped":true/);
  });
});
