// `mcpfleet keys create | list | revoke` through the CLI against a real controller on a real
// PostgreSQL (its own schema): the key is printed once and never again, the database row holds
// no secret, and every refusal is one line. And the CLI's credential: --token/MCPFLEET_TOKEN
// sent as a bearer token, a 401/403 explained in one line naming what to set.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { request } from 'undici';
import { silentLogger } from '../../../controller/observability/log.ts';
import type { RunningController } from '../../../controller/start.ts';
import { startKeyedController, type KeyedController } from './keyed-controller.ts';
import { assertOneLine, runCli } from '../cli/run-cli.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { DATABASE_URL, schemaUrl } from '../store/postgres-schema.ts';

const KEY_PATTERN = /^mcpf_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

describe('mcpfleet keys against a real controller', function () {
  this.timeout(60_000);
  const schema = `mcpfleet_keys_cli_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let admin: pg.Client;
  let controller: RunningController;
  /** The first admin key, written into the database (the controller asks every caller for one). */
  let adminKey = '';
  const asAdmin = (...args: string[]) =>
    runCli(...args, '--url', controller.url, '--token', adminKey);
  const SECRET = 'a-key-hashing-secret-for-the-cli-test-0123456789';

  let keyed: KeyedController;
  before(async function () {
    keyed = await startKeyedController(schema, SECRET, {
      specs: [stdioFixture('fix', 'normal'), stdioFixture('other', 'normal')],
      logger: silentLogger(),
    });
    ({ controller } = keyed);
    adminKey = keyed.admin.key;
    admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
  });
  after(async function () {
    await admin?.end();
    await keyed?.close();
  });

  it('creates a key and prints it once; list shows it without its secret; the row holds none', async function () {
    const created = await asAdmin(
      'keys',
      'create',
      '--name',
      'ci-bot',
      '--role',
      'operator',
      '--servers',
      'fix',
      '--expires',
      '90d',
    );
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    const [, id, secret] = KEY_PATTERN.exec(key) ?? assert.fail(`not a key: ${created.stdout}`);
    assert.match(created.stderr, /only time it is shown/);

    const listed = await asAdmin('keys', 'list');
    assert.equal(listed.code, 0, listed.stderr);
    const [header, bootstrap, row] = listed.stdout.trimEnd().split('\n');
    assert.match(bootstrap!, /^first-admin\s/);
    assert.match(header!, /^NAME\s+ID\s+ROLE\s+SERVERS\s+CREATED\s+EXPIRES\s+LAST-USED\s+REVOKED$/);
    const cells = row!.split(/\s{2,}/);
    assert.deepEqual(cells.slice(0, 4), ['ci-bot', id, 'operator', 'fix']);
    const days = (Date.parse(cells[5]!) - Date.now()) / 86_400_000;
    assert.ok(days > 89 && days <= 90, cells[5]);
    assert.deepEqual(cells.slice(6), ['-', '-']);
    const json = await asAdmin('keys', 'list', '--json');
    for (const text of [listed.stdout, json.stdout]) assert.ok(!text.includes(secret!));

    const { rows } = await admin.query(`SELECT * FROM ${schema}.api_keys WHERE name = 'ci-bot'`);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].id, id);
    assert.ok(!JSON.stringify(rows).includes(secret!), 'the secret is in the database');
    assert.match(rows[0].secret_hmac as string, /^[0-9a-f]{64}$/);
  });

  it('--database-url refuses a bad name as the API does, and needs the key-hashing secret', async function () {
    const args = ['keys', 'create', '--role', 'admin', '--database-url', schemaUrl(schema)];
    const noSecret = await runCli(...args, '--name', 'x');
    assert.equal(noSecret.code, 1);
    assert.match(
      noSecret.stderr,
      /needs the controller's key-hashing secret in MCPFLEET_KEY_HASHING_SECRET/,
    );
    process.env.MCPFLEET_KEY_HASHING_SECRET = SECRET;
    try {
      const badName = await runCli(...args, '--name', 'has space');
      assert.equal(badName.code, 1);
      assert.match(badName.stderr, /"name" must be 1 to 63 letters/);
      assertOneLine(badName.stderr);
    } finally {
      delete process.env.MCPFLEET_KEY_HASHING_SECRET;
    }
  });

  it('refuses a second live key of one name, an unknown server and a bad role in one line', async function () {
    const again = await asAdmin('keys', 'create', '--name', 'ci-bot', '--role', 'viewer');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^mcpfleet: a live key is already named "ci-bot"/);
    assertOneLine(again.stderr);
    const unknown = await asAdmin(
      'keys',
      'create',
      '--name',
      'x',
      '--role',
      'viewer',
      '--servers',
      'nope',
    );
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Unknown server\(s\): nope/);
    assertOneLine(unknown.stderr);
    const role = await asAdmin('keys', 'create', '--name', 'x', '--role', 'root');
    assert.equal(role.code, 1);
    assert.match(role.stderr, /Allowed choices are admin, operator, viewer/);
    // The API itself: not JSON, and a role that is not one.
    const bad = await request(`${controller.url}/api/v1/keys`, {
      method: 'POST',
      body: '{',
      headers: { authorization: `Bearer ${adminKey}` },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(((await bad.body.json()) as { error: { code: string } }).error.code, 'bad-json');
  });

  it('revokes by name, keeps the row, and frees the name', async function () {
    const revoked = await asAdmin('keys', 'revoke', 'ci-bot');
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /^Key "ci-bot" \(id [0-9a-f]{16}\) revoked\.\n$/);
    const again = await asAdmin('keys', 'revoke', 'ci-bot');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no live key is named "ci-bot"/);
    const unknownId = await asAdmin('keys', 'revoke', '0123456789abcdef');
    assert.equal(unknownId.code, 1);
    assert.match(unknownId.stderr, /No API key with id "0123456789abcdef"/);

    const listed = await asAdmin('keys', 'list', '--json');
    const { keys } = JSON.parse(listed.stdout) as { keys: { name: string; revokedAt: string }[] };
    assert.deepEqual(
      keys.map((k) => [k.name, k.revokedAt !== null]),
      [
        ['first-admin', false],
        ['ci-bot', true],
      ],
    );
    const created = await asAdmin('keys', 'create', '--name', 'ci-bot', '--role', 'admin');
    assert.equal(created.code, 0, created.stderr);
  });

  it('through the access gate: no credential is a 401, a viewer cannot wake, an operator can, only admin manages keys', async function () {
    const none = await runCli('keys', 'list', '--url', controller.url);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /needs a credential: set MCPFLEET_TOKEN or --token/);
    assertOneLine(none.stderr);
    const issue = async (name: string, role: string, ...extra: string[]): Promise<string> => {
      const run = await asAdmin('keys', 'create', '--name', name, '--role', role, ...extra);
      assert.equal(run.code, 0, run.stderr);
      return run.stdout.trim();
    };
    const viewer = await issue('reader', 'viewer');
    const operator = await issue('waker', 'operator', '--servers', 'fix');

    const refused = await runCli('wake', 'fix', '--url', controller.url, '--token', viewer);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /This needs the operator role; key "reader" has viewer/);
    assertOneLine(refused.stderr);
    assert.equal((await runCli('status', '--url', controller.url, '--token', viewer)).code, 0);

    const woke = await runCli('wake', 'fix', '--url', controller.url, '--token', operator);
    assert.equal(woke.code, 0, woke.stderr);
    assert.match(woke.stdout, /^fix: ready/);
    const other = await runCli('wake', 'other', '--url', controller.url, '--token', operator);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /limited to fix, not "other"/);
    const manage = await runCli('keys', 'list', '--url', controller.url, '--token', operator);
    assert.equal(manage.code, 1);
    assert.match(manage.stderr, /needs the admin role/);

    // The MCP endpoint takes the key too, and only for its servers.
    const call = (slug: string, key: string) =>
      request(`${controller.url}/servers/${slug}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: initializeBody(),
      });
    const ok = await call('fix', operator);
    await ok.body.text();
    assert.equal(ok.statusCode, 200);
    const wrongServer = await call('other', operator);
    await wrongServer.body.text();
    assert.equal(wrongServer.statusCode, 403);

    const revoked = await asAdmin('keys', 'revoke', 'waker');
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await call('fix', operator);
    await after.body.text();
    assert.equal(after.statusCode, 401);
    assert.match(String(after.headers['www-authenticate']), /invalid_token/);
  });
});

describe('the CLI credential', function () {
  let server: http.Server;
  let url: string;
  let seen: (string | undefined)[];
  let answer: { status: number; body: object };

  before(async function () {
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(function () {
    seen = [];
  });
  after(async function () {
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends --token, or MCPFLEET_TOKEN, as a bearer token on every call', async function () {
    answer = { status: 200, body: { keys: [] } };
    assert.equal((await runCli('keys', 'list', '--url', url, '--token', 'mcpf_given')).code, 0);
    process.env.MCPFLEET_TOKEN = 'from-the-environment';
    try {
      answer = { status: 200, body: { servers: [] } };
      const status = await runCli('status', '--url', url);
      assert.equal(status.code, 0, status.stderr);
    } finally {
      delete process.env.MCPFLEET_TOKEN;
    }
    assert.equal(seen[0], 'Bearer mcpf_given');
    assert.ok(
      seen.slice(1).every((h) => h === 'Bearer from-the-environment'),
      String(seen),
    );
    answer = { status: 200, body: { keys: [] } };
    assert.equal((await runCli('keys', 'list', '--url', url)).code, 0);
    assert.equal(seen.at(-1), undefined);
  });

  it('explains a 401 and a 403 in one line naming what to set', async function () {
    answer = {
      status: 401,
      body: { error: { code: 'invalid_token', message: 'The API key is not valid' } },
    };
    const refused = await runCli('wake', 'fix', '--url', url, '--token', 'mcpf_bad');
    assert.equal(refused.code, 1);
    assertOneLine(refused.stderr);
    assert.match(
      refused.stderr,
      /refused the credential in --token\/MCPFLEET_TOKEN \(The API key is not valid\): set MCPFLEET_TOKEN or --token/,
    );
    const none = await runCli('status', '--url', url);
    assert.match(none.stderr, /needs a credential: set MCPFLEET_TOKEN or --token/);
    answer = {
      status: 403,
      body: {
        error: { code: 'forbidden', message: 'This needs the operator role; key "r" has viewer' },
      },
    };
    const forbidden = await runCli('wake', 'fix', '--url', url, '--token', 'mcpf_viewer');
    assert.equal(forbidden.code, 1);
    assertOneLine(forbidden.stderr);
    assert.match(
      forbidden.stderr,
      /operator role; key "r" has viewer: set MCPFLEET_TOKEN or --token to a credential that may/,
    );
  });
});
