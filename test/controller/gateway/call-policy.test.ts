// The gateway's reading of one request body against the policies (gateway/call-policy.ts),
// with the real Cedar-backed ServerPolicies: the shapes of its refusals for what a client
// rarely sends — a tools/call notification, a batch mixing notifications and a client's
// responses with a forbidden call — and the tools/list rewrite leaving other messages alone.
import assert from 'node:assert/strict';
import type { Principal } from '../../../controller/auth/principal.ts';
import { ServerPolicies } from '../../../controller/auth/policy/server-policies.ts';
import { FORBIDDEN_TOOL, authorizeCall } from '../../../controller/gateway/call-policy.ts';
import { peekMessages, type MessagePeek } from '../../../controller/gateway/jsonrpc.ts';
import { stdioFixture } from '../fleet/specs.ts';

const alice: Principal = {
  id: 'token:https://idp#alice',
  kind: 'token',
  name: 'alice',
  roles: [],
  groups: [],
  scopes: [],
};

function peek(body: unknown): MessagePeek {
  const result = peekMessages(Buffer.from(JSON.stringify(body)));
  assert.ok(result.ok);
  return result.peek;
}

describe('the gateway reads a body against the policies', function () {
  let policies: ServerPolicies;
  before(async () => {
    policies = await ServerPolicies.open({
      specs: [{ ...stdioFixture('s', 'normal'), access: { tools: { deny: ['rm'] } } }],
    });
  });

  it('no policies at all: nothing decided, nothing rewritten', function () {
    const verdict = authorizeCall(
      undefined,
      alice,
      's',
      peek({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    );
    assert.deepEqual(verdict, { kind: 'allowed', toolCalls: [] });
  });

  it('a forbidden tools/call sent as a notification: 403, an error without id', function () {
    const verdict = authorizeCall(
      policies,
      alice,
      's',
      peek({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'rm' } }),
    );
    assert.equal(verdict.kind, 'refused');
    assert.equal(verdict.kind === 'refused' && verdict.status, 403);
    const body = JSON.parse(verdict.kind === 'refused' ? verdict.body : '{}') as {
      id: unknown;
      error: { code: number };
    };
    assert.equal(body.id, null);
    assert.equal(body.error.code, FORBIDDEN_TOOL);
  });

  it('a batch with notifications and responses: one error per request, in order', function () {
    const verdict = authorizeCall(
      policies,
      alice,
      's',
      peek([
        { jsonrpc: '2.0', method: 'notifications/progress', params: {} },
        { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'ls' } },
        { jsonrpc: '2.0', id: 99, result: {} },
        { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'rm' } },
        { jsonrpc: '2.0', id: 'c', method: 'ping' },
      ]),
    );
    assert.equal(verdict.kind, 'refused');
    if (verdict.kind !== 'refused') return;
    const answers = JSON.parse(verdict.body) as {
      id: string;
      error: { data: { reason: string } };
    }[];
    assert.deepEqual(
      answers.map((a) => [a.id, a.error.data.reason]),
      [
        ['a', 'batch-refused'],
        ['b', 'forbidden'],
        ['c', 'batch-refused'],
      ],
    );
    assert.deepEqual(
      verdict.toolCalls.map((c) => [c.index, c.tool, c.allowed]),
      [
        [1, 'ls', false],
        [2, 'rm', false],
      ],
      'for the audit: both calls refused, each at its index in peek.calls (responses have none)',
    );
  });

  it('rewrites only the tools/list answers, by id, and leaves other messages as they are', function () {
    const verdict = authorizeCall(
      policies,
      alice,
      's',
      peek({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
    );
    assert.equal(verdict.kind, 'allowed');
    const rewrite = verdict.kind === 'allowed' ? verdict.rewrite! : (m: object) => m;
    const tools = [{ name: 'ls' }, { name: 'rm' }];
    assert.deepEqual(rewrite({ jsonrpc: '2.0', id: 5, result: { tools } }), {
      jsonrpc: '2.0',
      id: 5,
      result: { tools: [{ name: 'ls' }] },
    });
    const notification = { jsonrpc: '2.0', method: 'notifications/message', params: { tools } };
    assert.equal(rewrite(notification), notification, 'a notification on the stream');
    const other = { jsonrpc: '2.0', id: 6, result: { tools } };
    assert.equal(rewrite(other), other, 'an answer to another request');
  });
});
