// Management actions in the audit log, and reading it, through a real controller on a real
// PostgreSQL (its own schema) that checks API keys: keys created and revoked (by whom, which
// key), wakes and sleeps — a viewer's refused wake recorded as denied with the reason — and a
// key's tools/call, all read back with `mcpfleet audit` (the CLI's main(), as bin.js runs it)
// and GET /api/v1/audit: each filter, pages by cursor, operator-only, bad filters refused in
// one line naming the parameter.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AuditEntry } from '../../../controller/api/types.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import type { RunningController } from '../../../controller/start.ts';
import { startKeyedController, type KeyedController } from '../auth/keyed-controller.ts';
import { assertOneLine, runCli } from '../cli/run-cli.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { readAudit, waitForAudit } from './audit-reads.ts';

const SECRET = 'a-key-hashing-secret-for-the-audit-test-0123456789';

describe('audit log of management actions, read with mcpfleet audit', function () {
  this.timeout(90_000);
  const schema = `mcpfleet_audit_mgmt_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let keyed: KeyedController;
  let controller: RunningController;
  const keys: Record<string, { key: string; id: string }> = {};
  const cli = (who: string, ...args: string[]) =>
    runCli(...args, '--url', controller.url, '--token', keys[who]!.key);

  before(async function () {
    // The first admin key goes straight into the database: no controller sees it, no record.
    keyed = await startKeyedController(schema, SECRET, {
      specs: [stdioFixture('fix', 'normal'), stdioFixture('other', 'normal')],
      audit: { flushMs: 50 },
      logger: silentLogger(),
    });
    ({ controller } = keyed);
    keys['first-admin'] = keyed.admin;
    for (const [name, role] of [
      ['ops', 'operator'],
      ['reader', 'viewer'],
    ] as const) {
      const made = await cli(
        'first-admin',
        'keys',
        'create',
        '--name',
        name,
        '--role',
        role,
        '--json',
      );
      assert.equal(made.code, 0, made.stderr);
      keys[name] = JSON.parse(made.stdout) as { key: string; id: string };
    }
  });
  after(() => keyed?.close());

  /** `mcpfleet audit ... --json` as `who`. */
  async function audit(who: string, ...args: string[]): Promise<AuditEntry[]> {
    const run = await cli(who, 'audit', ...args, '--json');
    assert.equal(run.code, 0, run.stderr);
    return (JSON.parse(run.stdout) as { records: AuditEntry[] }).records;
  }

  it('records who woke, slept, was refused, created and revoked keys, and called a tool', async function () {
    assert.equal((await cli('ops', 'wake', 'fix')).code, 0);
    const refused = await cli('reader', 'wake', 'other');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /needs the operator role/);
    const client = new Client({ name: 'audit-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${controller.url}/servers/fix/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${keys.ops!.key}` } },
      }),
    );
    await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    await client.close();
    assert.equal((await cli('ops', 'sleep', 'fix')).code, 0);
    assert.equal((await cli('first-admin', 'keys', 'revoke', 'reader')).code, 0);

    await waitForAudit(controller.url, {}, 7, keys.ops!.key);
    const all = await audit('ops');
    const rows = all.map((r) => [
      r.action,
      r.principalName,
      r.server,
      r.tool ?? r.target,
      r.decision,
      r.status,
    ]);
    assert.deepEqual(rows, [
      ['keys.revoke', 'first-admin', null, keys.reader!.id, 'allowed', 200],
      ['sleep', 'ops', 'fix', null, 'allowed', 200],
      ['tools/call', 'ops', 'fix', 'echo', 'allowed', 200],
      ['wake', 'reader', 'other', null, 'denied', 403],
      ['wake', 'ops', 'fix', null, 'allowed', 200],
      ['keys.create', 'first-admin', null, keys.reader!.id, 'allowed', 201],
      ['keys.create', 'first-admin', null, keys.ops!.id, 'allowed', 201],
    ]);
    const denied = all[3]!;
    assert.equal(denied.principal, `key:${keys.reader!.id}`);
    assert.match(denied.reason!, /^This needs the operator role; key "reader" has viewer$/);
    assert.ok(all.every((r) => r.completed && r.requestId.length > 0 && r.durationMs >= 0));
  });

  it('filters by server, principal name or id, action and time, and pages by cursor', async function () {
    const byName = await audit('ops', '--principal', 'ops');
    assert.deepEqual(
      byName.map((r) => r.action),
      ['sleep', 'tools/call', 'wake'],
    );
    const byId = await audit('ops', '--principal', `key:${keys.ops!.id}`);
    assert.deepEqual(byId, byName);
    assert.deepEqual(
      (await audit('ops', '--server', 'fix')).map((r) => r.action),
      ['sleep', 'tools/call', 'wake'],
    );
    assert.deepEqual(
      (await audit('ops', '--action', 'keys.create')).map((r) => r.target),
      [keys.reader!.id, keys.ops!.id],
    );
    assert.equal((await audit('ops', '--since', '1h')).length, 7);
    assert.equal((await audit('ops', '--until', '1h')).length, 0);
    const newest = (await audit('ops'))[0]!;
    assert.equal((await audit('ops', '--since', newest.at)).length, 1);
    assert.equal((await audit('ops', '--limit', '3')).length, 3);

    // Pages of 2 by the API's cursor: all 7, in order, once each.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const { status, body } = await readAudit(
        controller.url,
        { limit: '2', ...(cursor ? { cursor } : {}) },
        keys.ops!.key,
      );
      assert.equal(status, 200);
      seen.push(...body.records.map((r) => `${r.id}`));
      cursor = body.next;
    } while (cursor);
    assert.deepEqual(
      seen,
      (await audit('ops')).map((r) => `${r.id}`),
    );
  });

  it('prints a table naming each caller, and refuses bad filters in one line naming them', async function () {
    const table = await cli('ops', 'audit', '--server', 'fix');
    assert.equal(table.code, 0, table.stderr);
    const [header, first] = table.stdout.trimEnd().split('\n');
    assert.match(
      header!,
      /^TIME\s+PRINCIPAL\s+ACTION\s+SERVER\s+TOOL\/TARGET\s+DECISION\s+STATUS\s+DURATION\s+REQUEST-ID$/,
    );
    assert.match(
      first!,
      new RegExp(
        `^\\S+Z\\s+ops \\(key:${keys.ops!.id}\\)\\s+sleep\\s+fix\\s+-\\s+allowed\\s+200\\s`,
      ),
    );
    const withReason = await cli('ops', 'audit', '--action', 'wake');
    assert.match(withReason.stdout, /: This needs the operator role; key "reader" has viewer\n$/);

    for (const [args, named] of [
      [['--since', 'yesterday'], /"since" must be an ISO-8601 time .* got "yesterday"/],
      [['--until', '2026-13-45T00:00:00Z'], /"until" must be/],
      [['--server', 'Not_A_Slug'], /"server" is not a server slug/],
    ] as const) {
      const bad = await cli('ops', 'audit', ...args);
      assert.equal(bad.code, 1, bad.stdout);
      assert.match(bad.stderr, named);
      assertOneLine(bad.stderr);
    }
    const api = await readAudit(controller.url, { cursor: 'garbage' }, keys.ops!.key);
    assert.equal(api.status, 400);
    assert.match(api.body.error!.message, /"cursor"/);
  });

  it('is for operators and admins: a viewer gets 403 naming the role', async function () {
    const viewer = await cli('first-admin', 'keys', 'create', '--name', 'dash', '--role', 'viewer');
    const key = viewer.stdout.trim();
    const refused = await runCli('audit', '--url', controller.url, '--token', key);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /needs the operator role/);
    assertOneLine(refused.stderr);
    assert.equal((await readAudit(controller.url, {}, keys['first-admin']!.key)).status, 200);
  });

  it('gives a key limited to some servers only their records, and says to name one', async function () {
    const made = await cli(
      'first-admin',
      'keys',
      'create',
      '--name',
      'fix-ops',
      '--role',
      'operator',
      '--servers',
      'fix',
    );
    const key = made.stdout.trim();
    const as = (...args: string[]) =>
      runCli('audit', ...args, '--url', controller.url, '--token', key);
    for (const args of [[], ['--server', 'other']]) {
      const refused = await as(...args);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /limited to fix: ask for one of them with \?server=/);
      assertOneLine(refused.stderr);
    }
    const own = await as('--server', 'fix', '--json');
    assert.equal(own.code, 0, own.stderr);
    const records = (JSON.parse(own.stdout) as { records: AuditEntry[] }).records;
    assert.ok(records.length >= 3);
    assert.ok(records.every((r) => r.server === 'fix'));
  });
});
