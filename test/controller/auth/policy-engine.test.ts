// The access policies themselves, through the real Cedar engine: each server's `_meta` access
// block as Cedar policies (who may use it, which tools), the platform policy file beside them,
// the decisions and the rule each names, and the decision cache. The gateway's use of these is
// in policy-gateway.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ANONYMOUS, type Principal } from '../../../controller/auth/principal.ts';
import { accessPolicies } from '../../../controller/auth/policy/access-policies.ts';
import { loadCedar } from '../../../controller/auth/policy/cedar.ts';
import { CEDAR_SCHEMA } from '../../../controller/auth/policy/entity-model.ts';
import { PolicyFileError } from '../../../controller/auth/policy/platform-policy-file.ts';
import { ServerPolicies } from '../../../controller/auth/policy/server-policies.ts';
import type { Access, ServerSpec } from '../../../registry/catalog/spec.ts';
import { stdioFixture } from '../fleet/specs.ts';

function token(name: string, groups: string[], scopes: string[] = []): Principal {
  return { id: `token:https://idp#${name}`, kind: 'token', name, roles: [], groups, scopes };
}
function key(name: string): Principal {
  return { id: `key:${name}-id`, kind: 'key', name, roles: ['operator'], groups: [], scopes: [] };
}
function spec(slug: string, access?: Access): ServerSpec {
  return { ...stdioFixture(slug, 'normal'), ...(access ? { access } : {}) };
}

describe('access policies (Cedar)', function () {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-policy-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function policyFile(text: string, name = 'platform.cedar'): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  }

  it('a server without an access block is open, without asking Cedar', async function () {
    const policies = await ServerPolicies.open({ specs: [spec('open')] });
    assert.deepEqual(policies.mayUse(ANONYMOUS, 'open'), { allowed: true, rule: 'open' });
    assert.deepEqual(policies.mayCall(token('a', []), 'open', 'anything'), {
      allowed: true,
      rule: 'open',
    });
    assert.equal(policies.filtersTools('open'), false, 'tools/list answers are left alone');
    assert.equal(policies.mayUse(ANONYMOUS, 'nope').allowed, false, 'an unknown server is not');
  });

  it('groups, scopes and key names admit whoever matches one of them', async function () {
    const policies = await ServerPolicies.open({
      specs: [
        spec('gh', { groups: ['platform', 'sre'], scopes: ['github:write'], keys: ['ci-*'] }),
      ],
    });
    const use = (p: Principal) => policies.mayUse(p, 'gh');
    assert.deepEqual(use(token('alice', ['sre'])), { allowed: true, rule: 'gh:access' });
    assert.equal(use(token('bob', [], ['github:write'])).allowed, true, 'by scope');
    assert.equal(use(key('ci-bot-2026-12')).allowed, true, 'a key name matching ci-*');
    const carol = use(token('carol', ['developers'], ['mcp']));
    assert.deepEqual(carol, {
      allowed: false,
      rule: 'gh:access',
      reason: '"carol" is not among the groups, scopes and API keys that server "gh" admits',
      scopes: ['github:write'],
    });
    assert.deepEqual(use(key('deploy-bot')).scopes, undefined, 'a key: no scope would admit it');
    assert.equal(use(key('deploy-bot')).allowed, false, 'a key of another name');
    // A token whose subject is named like an admitted key is still not a key.
    assert.equal(use(token('ci-bot', [])).allowed, false);
  });

  it('the anonymous caller cannot satisfy groups, scopes or keys: refused, saying why', async function () {
    const policies = await ServerPolicies.open({
      specs: [spec('gh', { groups: ['platform'] }), spec('tools-only', { tools: { deny: ['x'] } })],
    });
    const refused = policies.mayUse(ANONYMOUS, 'gh');
    assert.equal(refused.allowed, false);
    assert.match(refused.reason!, /identifies nobody .*every caller is anonymous/);
    assert.equal(policies.mayUse(ANONYMOUS, 'tools-only').allowed, true, 'no one is named');
    assert.equal(policies.mayCall(ANONYMOUS, 'tools-only', 'x').allowed, false, 'tool rules hold');
  });

  it('tools: allow by name or pattern, deny wins, and each refusal names its rule', async function () {
    const policies = await ServerPolicies.open({
      specs: [
        spec('fs', { tools: { allow: ['read_*', 'list_directory'], deny: ['read_secret*'] } }),
      ],
    });
    const call = (tool: string) => policies.mayCall(token('a', []), 'fs', tool);
    assert.deepEqual(call('read_file'), { allowed: true, rule: 'fs:access.tools.allow' });
    assert.equal(call('list_directory').allowed, true);
    assert.equal(call('list_directory_tree').allowed, false, 'a name is matched whole');
    assert.deepEqual(call('write_file'), {
      allowed: false,
      rule: 'fs:access.tools.allow',
      reason:
        'tool "write_file" is not among the tools server "fs" allows (its access.tools.allow)',
    });
    assert.deepEqual(call('read_secrets'), {
      allowed: false,
      rule: 'fs:access.tools.deny',
      reason: 'tool "read_secrets" of server "fs" is denied (its access.tools.deny)',
    });
    assert.equal(policies.filtersTools('fs'), true);
  });

  it('names holding quotes, backslashes or newlines stay names (escaped in the policy)', async function () {
    const tricky = 'a" || true || "b\\\n';
    const texts = accessPolicies('s', { groups: [tricky], keys: ['k'] });
    const cedar = await loadCedar();
    const checked = cedar.validate({
      schema: CEDAR_SCHEMA,
      policies: { staticPolicies: texts },
      validationSettings: { mode: 'strict' },
    });
    assert.equal(checked.type, 'success', JSON.stringify(checked));
    assert.deepEqual(checked.type === 'success' ? checked.validationErrors : [], []);
    const policies = await ServerPolicies.open({ specs: [spec('s', { groups: [tricky] })] });
    assert.equal(policies.mayUse(token('x', ['b']), 's').allowed, false, 'no injected "true"');
    assert.equal(policies.mayUse(token('y', [tricky]), 's').allowed, true);
  });

  it('a platform policy file adds rules across servers: a forbid beats every permit', async function () {
    const file = await policyFile(`
      // Nobody reads the environment, on any server.
      @id("no-env")
      forbid (principal, action == Action::"call_tool", resource)
      when { resource.name like "*env*" };

      forbid (principal, action == Action::"use_server", resource == Server::"b")
      when { principal.kind == "key" };
    `);
    const policies = await ServerPolicies.open({
      specs: [spec('a'), spec('b', { tools: { allow: ['*'] } })],
      policyFile: file,
    });
    assert.deepEqual(policies.platformPolicies, ['no-env', 'platform.cedar:7']);
    for (const slug of ['a', 'b']) {
      const refused = policies.mayCall(token('t', []), slug, 'get-env');
      assert.equal(refused.allowed, false, slug);
      assert.equal(refused.rule, 'no-env');
      assert.match(refused.reason!, /forbidden by policy no-env/);
      assert.equal(policies.mayCall(token('t', []), slug, 'echo').allowed, true);
      assert.equal(policies.filtersTools(slug), true, 'a platform rule may hide any tool');
    }
    const keyOnB = policies.mayUse(key('ci'), 'b');
    assert.deepEqual(
      { allowed: keyOnB.allowed, rule: keyOnB.rule },
      { allowed: false, rule: 'platform.cedar:7' },
    );
    assert.equal(policies.mayUse(key('ci'), 'a').allowed, true);
  });

  it('refuses a policy file that does not parse or does not fit the model, naming file and line', async function () {
    const broken = await policyFile(
      'permit (principal, action, resource);\nforbid (principal, action, resource) when { x };\n',
      'broken.cedar',
    );
    await assert.rejects(
      ServerPolicies.open({ specs: [], policyFile: broken }),
      (err: Error) =>
        err instanceof PolicyFileError &&
        err.message.includes(`policy file ${broken}:2:`) &&
        /invalid variable: x/.test(err.message),
    );
    const misspelt = await policyFile(
      'forbid (principal, action == Action::"call_tool", resource)\nwhen { principal.grups.contains("x") };\n',
      'misspelt.cedar',
    );
    await assert.rejects(
      ServerPolicies.open({ specs: [], policyFile: misspelt }),
      (err: Error) =>
        err instanceof PolicyFileError &&
        err.message.includes(misspelt) &&
        /misspelt\.cedar:1: .*grups/s.test(err.message),
    );
    await assert.rejects(
      ServerPolicies.open({ specs: [], policyFile: path.join(dir, 'absent.cedar') }),
      /absent\.cedar: cannot be read \(ENOENT\)/,
    );
  });

  it('remembers decisions per principal, and forgets them when the policies change', async function () {
    const policies = await ServerPolicies.open({
      specs: [spec('s', { groups: ['team'] })],
    });
    const alice = token('alice', ['team']);
    assert.equal(policies.mayUse(alice, 's').allowed, true);
    // Same subject, another token without the group: not the cached answer.
    assert.equal(policies.mayUse(token('alice', ['other']), 's').allowed, false);
    await policies.apply([spec('s', { groups: ['another-team'] })]);
    assert.equal(policies.mayUse(alice, 's').allowed, false, 'the new block decides');
    await policies.apply([spec('s')]);
    assert.equal(policies.mayUse(alice, 's').rule, 'open', 'the block removed: open again');
  });

  it("parses a server's policies when first asked, and again only when its block changed", async function () {
    const specs = [spec('a', { groups: ['x'] }), spec('b', { groups: ['y'] }), spec('c')];
    const policies = await ServerPolicies.open({ specs });
    assert.equal(policies.policySetsParsed, 0, 'each is parsed when first asked about');
    for (const slug of ['a', 'b', 'c']) policies.mayUse(token('t', ['x']), slug);
    assert.equal(policies.policySetsParsed, 2, 'c has no block and no platform file: none');
    await policies.apply([specs[0]!, spec('b', { groups: ['z'] }), specs[2]!]);
    assert.equal(policies.mayUse(token('t', ['z']), 'b').allowed, true, "b's new block decides");
    assert.equal(policies.mayUse(token('t', ['x']), 'a').allowed, true, "a's kept set still works");
    assert.equal(policies.policySetsParsed, 3, 'b only');
  });

  it('a cached decision lasts no longer than its credential', async function () {
    let now = 1_000_000;
    const policies = await ServerPolicies.open({
      specs: [spec('s', { keys: ['k'] })],
      now: () => now,
    });
    const soon: Principal = { ...key('k'), expiresAt: now + 60_000 };
    assert.equal(policies.mayUse(soon, 's').allowed, true);
    assert.equal(policies.mayUse(soon, 's').allowed, true);
    assert.equal(policies.evaluations, 1, 'the second answer came from the cache');
    now += 60_000;
    assert.equal(policies.mayUse(soon, 's').allowed, true);
    assert.equal(policies.evaluations, 2, 'decided again once the credential expired');
    assert.equal(policies.cachedDecisions, 1);
  });
});
