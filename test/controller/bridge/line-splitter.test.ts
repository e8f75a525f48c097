import assert from 'node:assert/strict';
import { LineSplitter } from '../../../controller/bridge/line-splitter.ts';
import { readMessageHead } from '../../../controller/bridge/message-head.ts';

function splitter(maxLineBytes: number, headBytes?: number) {
  const lines: string[] = [];
  const heads: string[] = [];
  const s = new LineSplitter({
    maxLineBytes,
    ...(headBytes ? { headBytes } : {}),
    onLine: (line) => lines.push(line),
    onOversized: (head) => heads.push(head),
  });
  return { s, lines, heads };
}

describe('line splitter', () => {
  it('joins a line split across chunks, keeps a character split between them, drops \\r', () => {
    const { s, lines } = splitter(1024);
    const text = Buffer.from('{"a":"é"}\r\n{"b":1}\n\n{"c"');
    // Every byte its own chunk: é (two bytes) is split, and so is every line.
    for (const byte of text) s.push(Buffer.from([byte]));
    s.push(Buffer.from(':2}'));
    assert.deepEqual(lines, ['{"a":"é"}', '{"b":1}']);
    s.end();
    assert.deepEqual(lines, ['{"a":"é"}', '{"b":1}', '{"c":2}']);
  });

  it('reports a line above the limit once, by its head, and carries on after its newline', () => {
    const { s, lines, heads } = splitter(100, 10);
    s.push(Buffer.from('{"id":7,"result":"' + 'x'.repeat(60)));
    s.push(Buffer.from('x'.repeat(60)));
    s.push(Buffer.from('x'.repeat(500)));
    s.push(Buffer.from('"}\n{"id":8}\n'));
    assert.deepEqual(heads, ['{"id":7,"r']);
    assert.deepEqual(lines, ['{"id":8}']);
  });

  it('holds at most the limit of a line that never ends', () => {
    const { s, heads } = splitter(1024 * 1024);
    const chunk = Buffer.alloc(64 * 1024, 'n');
    for (let i = 0; i < 1600; i++) {
      s.push(chunk); // 100 MiB without a newline
      assert.ok(s.buffered <= 1024 * 1024);
    }
    assert.equal(heads.length, 1);
    assert.equal(s.buffered, 0);
  });
});

describe('message head', () => {
  it("reads the envelope's id and method, not an id nested in the result", () => {
    assert.deepEqual(readMessageHead('{"jsonrpc":"2.0","id":12,"result":{"id":99,"t'), {
      id: 12,
      hasMethod: false,
    });
    assert.deepEqual(readMessageHead('{"result":{"items":[{"id":99}],"s":"a\\"b"},"id":"r-1"}'), {
      id: 'r-1',
      hasMethod: false,
    });
    assert.deepEqual(readMessageHead('{"result":{"items":[{"id":99},{"t'), { hasMethod: false });
    assert.deepEqual(readMessageHead(' { "method" : "sampling/createMessage", "id" : -3 , "p'), {
      id: -3,
      hasMethod: true,
    });
    assert.deepEqual(readMessageHead('not json'), { hasMethod: false });
  });
});
