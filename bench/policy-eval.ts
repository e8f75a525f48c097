// What authorization costs the gateway per request, in-process (gateway/call-policy.ts over
// auth/policy/): a tools/call and a tools/list answer of server-everything's 13 tools, each
// for a server with no policy at all (the laptop's path), for a server with an access block
// and a platform file when the decisions are cached (every request after a principal's
// first), and the same uncached (a Cedar evaluation each: the first sight of a principal,
// or after the policies changed). Same run, alternating rounds. Prints JSON.
//
//   node bench/policy-eval.ts [--iterations 100000]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Principal } from '../controller/auth/principal.ts';
import { ServerPolicies } from '../controller/auth/policy/server-policies.ts';
import { authorizeCall } from '../controller/gateway/call-policy.ts';
import { peekMessages, type MessagePeek } from '../controller/gateway/jsonrpc.ts';
import { stdioFixture } from '../test/controller/fleet/specs.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '100000' } } });
const iterations = Number(values.iterations);

const TOOLS = [
  'echo',
  'get-annotated-message',
  'get-env',
  'get-resource-links',
  'get-resource-reference',
  'get-structured-content',
  'get-sum',
  'get-tiny-image',
  'gzip-file-as-resource',
  'toggle-simulated-logging',
  'toggle-subscriber-updates',
  'trigger-long-running-operation',
  'simulate-research-query',
];
const principal: Principal = {
  id: 'token:https://idp.example.com#alice',
  kind: 'token',
  name: 'alice',
  roles: ['viewer'],
  groups: ['developers', 'platform-team', 'everyone'],
  scopes: ['mcp'],
  expiresAt: Date.now() + 3_600_000,
};
const peek = (body: unknown): MessagePeek => {
  const result = peekMessages(Buffer.from(JSON.stringify(body)));
  if (!result.ok) throw new Error(result.message);
  return result.peek;
};
const call = peek({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'get-sum', arguments: { a: 1, b: 2 } },
});
const list = peek({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
const listAnswer = {
  jsonrpc: '2.0',
  id: 2,
  result: { tools: TOOLS.map((name) => ({ name, inputSchema: { type: 'object' } })) },
};

const dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-policy-bench-'));
const policyFile = path.join(dir, 'platform.cedar');
await writeFile(
  policyFile,
  '@id("no-env")\nforbid (principal, action == Action::"call_tool", resource)\nwhen { resource.name like "*-env" };\n',
);
const open = await ServerPolicies.open({ specs: [stdioFixture('s', 'normal')] });
const guarded = await ServerPolicies.open({
  specs: [
    {
      ...stdioFixture('s', 'normal'),
      access: {
        groups: ['platform-team', 'sre'],
        keys: ['ci-bot*'],
        tools: { allow: ['echo', 'get-*'], deny: ['get-tiny-image'] },
      },
    },
  ],
  policyFile,
});

let strangers = 0;
/** µs per tools/call decision, or per tools/list answer filtered (`list`). */
function perRequest(policies: ServerPolicies, n: number, kind: 'call' | 'list', cold: boolean) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    // A fresh principal object with another id each time: no cached decision applies.
    const who = cold ? { ...principal, id: `${principal.id}-${++strangers}` } : principal;
    const verdict = authorizeCall(policies, who, 's', kind === 'call' ? call : list);
    if (verdict.kind !== 'allowed') throw new Error('refused');
    if (kind === 'list') verdict.rewrite?.(listAnswer);
  }
  return ((performance.now() - t0) * 1000) / n;
}

const shown = listFiltered();
function listFiltered(): number {
  const verdict = authorizeCall(guarded, principal, 's', list);
  const rewritten = verdict.kind === 'allowed' ? verdict.rewrite?.(listAnswer) : undefined;
  return ((rewritten?.result as { tools: unknown[] } | undefined)?.tools ?? []).length;
}

const rounds = 5;
const runs = {
  callNoPolicy: [] as number[],
  callCached: [] as number[],
  callUncached: [] as number[],
  listNoPolicy: [] as number[],
  listCached: [] as number[],
  listUncached: [] as number[],
};
perRequest(guarded, 2000, 'call', false); // warm
for (let round = 0; round < rounds; round++) {
  runs.callNoPolicy.push(perRequest(open, iterations / rounds, 'call', false));
  runs.callCached.push(perRequest(guarded, iterations / rounds, 'call', false));
  runs.callUncached.push(perRequest(guarded, iterations / rounds / 50, 'call', true));
  runs.listNoPolicy.push(perRequest(open, iterations / rounds, 'list', false));
  runs.listCached.push(perRequest(guarded, iterations / rounds / 10, 'list', false));
  runs.listUncached.push(perRequest(guarded, iterations / rounds / 500, 'list', true));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round3 = (n: number): number => Math.round(n * 1000) / 1000;
const us = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, round3(median(v))]));
console.log(
  JSON.stringify(
    {
      bench: 'policy-eval',
      node: process.version,
      iterations,
      tools: TOOLS.length,
      toolsListedAfterPolicy: shown,
      perRequestUs: us,
      addedPerToolsCallUs: {
        cached: round3(us.callCached! - us.callNoPolicy!),
        uncached: round3(us.callUncached! - us.callNoPolicy!),
      },
      addedPerToolsListUs: {
        cached: round3(us.listCached! - us.listNoPolicy!),
        uncached: round3(us.listUncached! - us.listNoPolicy!),
      },
      cedarEvaluations: guarded.evaluations,
      target: { addedPerToolsCallUs: { cached: '<= 100' } },
      pass: us.callCached! - us.callNoPolicy! <= 100,
    },
    null,
    2,
  ),
);
await rm(dir, { recursive: true, force: true });
