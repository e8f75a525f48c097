// Which era a POST speaks and which header contradictions are refused, on the classifier
// alone (the gateway tests show the same answers on the wire).
import assert from 'node:assert/strict';
import { classifyRequest } from '../../../controller/eras/classify-request.ts';
import { peekMessages } from '../../../controller/gateway/jsonrpc.ts';

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'c', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': { sampling: {} },
  'io.modelcontextprotocol/logLevel': 'debug',
};

function classify(message: unknown, headers: Record<string, string> = {}) {
  const peek = peekMessages(Buffer.from(JSON.stringify(message)));
  assert.ok(peek.ok);
  return classifyRequest(headers, peek.peek);
}

describe('era classification', function () {
  it('a 2025 request (no envelope) is legacy, whatever its known version header', function () {
    assert.deepEqual(classify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), { era: 'legacy' });
    const v = { 'mcp-protocol-version': '2025-06-18' };
    assert.deepEqual(classify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, v), {
      era: 'legacy',
    });
  });

  it('an initialize may name any version: version negotiation is its job', function () {
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2030-01-01' },
    };
    assert.equal(classify(init, { 'mcp-protocol-version': '2030-01-01' }).era, 'legacy');
  });

  it('an envelope makes it modern, with who the client is', function () {
    const era = classify(
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: ENVELOPE } },
      { 'mcp-method': 'tools/call', 'mcp-name': 'echo', 'mcp-protocol-version': '2026-07-28' },
    );
    assert.equal(era.era, 'modern');
    if (era.era !== 'modern') return;
    assert.deepEqual(era.envelope, {
      protocolVersion: '2026-07-28',
      clientInfo: { name: 'c', version: '1' },
      capabilities: { sampling: {} },
      logLevel: 'debug',
    });
    assert.equal(era.notification, false);
  });

  it('resources/read is named by its uri; methods without a target need no Mcp-Name', function () {
    const read = {
      jsonrpc: '2.0',
      id: 1,
      method: 'resources/read',
      params: { uri: 'test://a', _meta: ENVELOPE },
    };
    assert.equal(
      classify(read, { 'mcp-method': 'resources/read', 'mcp-name': 'test://a' }).era,
      'modern',
    );
    const wrong = classify(read, { 'mcp-method': 'resources/read', 'mcp-name': 'test://b' });
    assert.equal(wrong.era === 'rejected' && wrong.code, -32020);
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: ENVELOPE } };
    assert.equal(classify(list, { 'mcp-method': 'tools/list' }).era, 'modern');
  });

  it('a modern notification is modern too, and needs its Mcp-Method', function () {
    const note = {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 1, _meta: ENVELOPE },
    };
    const era = classify(note, { 'mcp-method': 'notifications/cancelled' });
    assert.equal(era.era === 'modern' && era.notification, true);
    const missing = classify(note);
    assert.equal(missing.era === 'rejected' && missing.code, -32020);
  });

  it('a batch carrying an envelope is refused (2026-07-28 has none); a 2025 batch passes', function () {
    const modern = classify([
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: ENVELOPE } },
    ]);
    assert.equal(modern.era === 'rejected' && modern.code, -32600);
    assert.equal(classify([{ jsonrpc: '2.0', id: 1, method: 'ping' }]).era, 'legacy');
  });
});
