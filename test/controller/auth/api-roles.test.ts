// Management API roles with real API keys over a real fleet (stdio fixtures woken for real):
// viewer reads, operator also wakes and sleeps, admin also manages keys; a key limited to some
// servers cannot wake another. 403s are JSON naming the role needed, and the CLI shows them
// in one line. Here the API runs over the embedded store (PGlite in its child process) behind
// the real AccessGate with only the key authenticator; keys-cli.test.ts does the same through
// a whole controller on PostgreSQL.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createApiHandler, type Api } from '../../../controller/api/routes.ts';
import { AccessGate } from '../../../controller/auth/access-gate.ts';
import type { ApiKeys } from '../../../controller/auth/keys/api-keys.ts';
import { openApiKeys } from '../../../controller/auth/keys/open-api-keys.ts';
import type { Role } from '../../../controller/auth/principal.ts';
import { ResourceUrls } from '../../../controller/auth/resource-urls.ts';
import { MemoryCoord } from '../../../controller/coord/memory.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import type { Store } from '../../../controller/store/store.ts';
import { runCli } from '../cli/run-cli.ts';
import { stdioFixture } from '../fleet/specs.ts';

describe('management API roles', function () {
  this.timeout(60_000);
  let controller: RunningController;
  let store: Store;
  let coord: MemoryCoord;
  let keys: ApiKeys;
  let api: Api;
  let server: http.Server;
  let base: string;
  const tokens: Record<string, string> = {};

  before(async function () {
    const logger = silentLogger();
    controller = await startController({
      specs: [stdioFixture('fix', 'normal'), stdioFixture('other', 'normal')],
      port: 0,
      dataDir: 'memory://',
      logger,
    });
    store = await openStore({ dataDir: 'memory://' });
    coord = new MemoryCoord();
    keys = await openApiKeys({ store, coord, host: '127.0.0.1', dataDir: 'memory://', logger });
    api = createApiHandler(controller.fleet, logger, { keys });
    const gate = new AccessGate({
      authenticators: [keys.authenticator],
      urls: new ResourceUrls(() => base),
    });
    server = http.createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://controller');
        const principal = await gate.admit(req, res, { surface: 'api' }, url.search, 'test');
        if (principal) await api.handle(req, res, url, principal);
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const issue = async (name: string, role: Role, servers: string[] | null = null) =>
      (tokens[name] = (await keys.create({ name, role, servers, expiresAt: null })).key);
    await issue('viewer', 'viewer');
    await issue('operator', 'operator');
    await issue('admin', 'admin');
    await issue('other-only', 'operator', ['other']);
  });
  after(async function () {
    api?.close();
    await new Promise((resolve) => server?.close(resolve));
    await keys?.close();
    await coord?.close();
    await store?.close();
    await controller?.close();
  });

  async function call(
    method: string,
    path: string,
    who: string,
    body?: object,
  ): Promise<{
    status: number;
    body: { error?: { code: string; message: string } } & Record<string, unknown>;
  }> {
    const res = await request(`${base}/api/v1/${path}`, {
      method: method as 'GET',
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: (await res.body.json()) as never };
  }

  it('a viewer reads but cannot wake, sleep or manage keys (403 naming the role)', async function () {
    assert.equal((await call('GET', 'servers', 'viewer')).status, 200);
    assert.equal((await call('GET', 'servers/fix', 'viewer')).status, 200);
    assert.equal((await call('GET', 'events', 'viewer')).status, 200);
    const wake = await call('POST', 'servers/fix/wake', 'viewer');
    assert.equal(wake.status, 403);
    assert.deepEqual(wake.body.error, {
      code: 'forbidden',
      message: 'This needs the operator role; key "viewer" has viewer',
    });
    assert.equal((await call('POST', 'servers/fix/sleep', 'viewer')).status, 403);
    const list = await call('GET', 'keys', 'viewer');
    assert.equal(list.status, 403);
    assert.match(list.body.error!.message, /needs the admin role/);
    assert.notEqual(controller.fleet.status('fix')?.state, 'ready');
  });

  it('an operator wakes and sleeps, but cannot manage keys', async function () {
    const wake = await call('POST', 'servers/fix/wake', 'operator');
    assert.equal(wake.status, 200, JSON.stringify(wake.body));
    assert.equal(wake.body.state, 'ready');
    const sleep = await call('POST', 'servers/fix/sleep', 'operator');
    assert.equal(sleep.status, 200);
    assert.equal(sleep.body.state, 'asleep');
    for (const [method, path] of [
      ['GET', 'keys'],
      ['POST', 'keys'],
      ['DELETE', 'keys/0123456789abcdef'],
    ] as const) {
      assert.equal(
        (await call(method, path, 'operator', { name: 'x', role: 'admin' })).status,
        403,
      );
    }
  });

  it('a key limited to some servers cannot wake another', async function () {
    const wake = await call('POST', 'servers/fix/wake', 'other-only');
    assert.equal(wake.status, 403);
    assert.match(wake.body.error!.message, /key "other-only" is limited to other, not "fix"/);
    assert.equal((await call('GET', 'servers/other', 'other-only')).status, 200);
  });

  it('an admin issues, lists and revokes keys; a revoked key is refused at once', async function () {
    const created = await call('POST', 'keys', 'admin', { name: 'temp', role: 'viewer' });
    assert.equal(created.status, 201);
    tokens.temp = created.body.key as string;
    assert.equal((await call('GET', 'servers', 'temp')).status, 200);
    const listed = await call('GET', 'keys', 'admin');
    assert.deepEqual(
      (listed.body.keys as { name: string }[]).map((k) => k.name),
      ['viewer', 'operator', 'admin', 'other-only', 'temp'],
    );
    const revoked = await call('DELETE', `keys/${created.body.id as string}`, 'admin');
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revokedAt);
    const refused = await call('GET', 'servers', 'temp');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error!.message, 'The API key is not valid');
  });

  it('the CLI shows a 403 in one line', async function () {
    const run = await runCli('wake', 'fix', '--url', base, '--token', tokens.viewer!);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      'mcpfleet: This needs the operator role; key "viewer" has viewer: set MCPFLEET_TOKEN or ' +
        '--token to a credential that may\n',
    );
  });
});
