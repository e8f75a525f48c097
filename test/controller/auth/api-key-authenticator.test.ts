// API keys against a real store, both backends (embedded PGlite and a real PostgreSQL): issued
// once, stored as an HMAC only, verified into a Principal, and refused (one description, the
// reason in the log) when unknown, tampered, revoked or expired; a revocation reaches another
// replica through real Redis pub/sub; verified rows are cached and the last use is written
// at most once per interval.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  ApiKeyAuthenticator,
  KEY_REFUSED,
} from '../../../controller/auth/keys/api-key-authenticator.ts';
import { ApiKeys } from '../../../controller/auth/keys/api-keys.ts';
import { isRefusal, type AuthRefusal, type Principal } from '../../../controller/auth/principal.ts';
import { openCoord } from '../../../controller/coord/open-coord.ts';
import { createLogger } from '../../../controller/observability/log.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import type { Store } from '../../../controller/store/store.ts';
import { waitFor } from '../coord/wait-for.ts';
import { sharedPGlite } from '../store/shared-pglite.ts';
import { logRecorder, type LogRecorder } from '../support/log-recorder.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const HASHING_SECRET = Buffer.from('a-test-key-hashing-secret-of-32-characters-or-more');
const RESOURCE = 'http://127.0.0.1/servers/a/mcp';

interface Backend {
  open(): Promise<Store>;
  /** The api_keys rows as PostgreSQL holds them, every column. */
  rows(store: Store): Promise<Record<string, unknown>[]>;
}

/** Counts the store calls the authenticator makes, passing each to the real store. */
function counting(store: Store): { store: Store; finds: () => number; touches: () => number } {
  let finds = 0;
  let touches = 0;
  const wrapped = Object.create(store) as Store;
  wrapped.findApiKey = (id) => {
    finds++;
    return store.findApiKey(id);
  };
  wrapped.touchApiKey = (id, at) => {
    touches++;
    return store.touchApiKey(id, at);
  };
  return { store: wrapped, finds: () => finds, touches: () => touches };
}

function keysOver(store: Store, log: LogRecorder, options: { now?: () => number } = {}): ApiKeys {
  const logger = createLogger({ level: 'info', destination: log.stream });
  return new ApiKeys({
    store,
    hashingSecret: { secret: HASHING_SECRET },
    authenticator: new ApiKeyAuthenticator({
      store,
      hashingSecret: HASHING_SECRET,
      logger,
      ...options,
    }),
    logger,
  });
}

function principalOf(value: Principal | AuthRefusal): Principal {
  if (isRefusal(value)) assert.fail(`refused: ${JSON.stringify(value)}`);
  return value;
}

function authenticatorContract(backend: Backend): void {
  let store: Store;
  let log: LogRecorder;
  let keys: ApiKeys;

  beforeEach(async () => {
    store = await backend.open();
    log = logRecorder();
    keys = keysOver(store, log);
  });
  afterEach(async () => {
    await store.close();
  });

  const refusedFor = (reason: string): void => {
    assert.ok(
      log.records.some(
        (r) => r.msg === 'API key refused' && (r as { reason?: string }).reason === reason,
      ),
      `a log line with reason "${reason}"`,
    );
  };

  it('verifies a new key into a Principal with its name, role, servers and expiry', async () => {
    const expiresAt = new Date(Date.now() + 90 * 86_400_000);
    const { key, record } = await keys.create({
      name: 'ci-bot',
      role: 'operator',
      servers: ['a', 'b'],
      expiresAt,
    });
    assert.match(key, /^mcpf_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(key.split('_')[1], record.id);
    assert.ok(keys.authenticator.recognises(key));
    assert.ok(!keys.authenticator.recognises('eyJhbGciOiJSUzI1NiJ9.e30.sig'));
    const principal = principalOf(await keys.authenticator.verify(key, RESOURCE));
    assert.deepEqual(principal, {
      id: `key:${record.id}`,
      kind: 'key',
      name: 'ci-bot',
      roles: ['operator'],
      groups: [],
      scopes: [],
      servers: ['a', 'b'],
      expiresAt: expiresAt.getTime(),
    });
  });

  it('keeps no secret: neither the listing nor any database column holds it', async () => {
    const { key, record } = await keys.create({
      name: 'ci-bot',
      role: 'viewer',
      servers: null,
      expiresAt: null,
    });
    const secret = key.slice(`mcpf_${record.id}_`.length);
    assert.doesNotMatch(JSON.stringify(await keys.list()), new RegExp(secret));
    const rows = await backend.rows(store);
    assert.equal(rows.length, 1);
    const everything = JSON.stringify(rows);
    assert.ok(everything.includes(record.id));
    assert.ok(!everything.includes(secret), 'the secret is in the table');
    assert.ok(!everything.includes(Buffer.from(secret).toString('hex')));
    assert.match(String(rows[0]!.secret_hmac), /^[0-9a-f]{64}$/);
  });

  it('refuses unknown, tampered, malformed, revoked and expired keys alike', async () => {
    let now = Date.now();
    const clocked = keysOver(store, log, { now: () => now });
    const { key, record } = await clocked.create({
      name: 'ci-bot',
      role: 'admin',
      servers: null,
      expiresAt: new Date(now + 3_600_000),
    });
    const verify = (credential: string) => clocked.authenticator.verify(credential, RESOURCE);
    principalOf(await verify(key));

    const last = key.at(-1) === 'A' ? 'B' : 'A';
    const tampered = key.slice(0, -1) + last;
    const unknown = `mcpf_${'0'.repeat(16)}_${key.split('_').slice(2).join('_')}`;
    for (const credential of [tampered, unknown, 'mcpf_nothing', `${key}x`]) {
      assert.deepEqual(await verify(credential), {
        refused: true,
        error: 'invalid_token',
        description: KEY_REFUSED,
      });
    }
    refusedFor('wrong secret');
    refusedFor('unknown key id');
    refusedFor('malformed key');

    now += 2 * 3_600_000;
    assert.deepEqual(await verify(key), {
      refused: true,
      error: 'invalid_token',
      description: KEY_REFUSED,
    });
    refusedFor('expired');

    now = Date.now();
    principalOf(await verify(key));
    await clocked.revoke(record.id);
    // On the replica that revoked it, at once (its cached row is dropped).
    assert.ok(isRefusal(await verify(key)));
    refusedFor('revoked');
  });

  it('a key hashed under another secret is refused: the HMAC is keyed', async () => {
    const { key } = await keys.create({ name: 'k', role: 'admin', servers: null, expiresAt: null });
    const other = new ApiKeyAuthenticator({
      store,
      hashingSecret: Buffer.from('another-secret-entirely-of-32-characters!!'),
      logger: createLogger({ level: 'info', destination: log.stream }),
    });
    assert.ok(isRefusal(await other.verify(key, RESOURCE)));
  });

  it('reads the database once per key within the cache TTL, and records the last use once per interval', async () => {
    const { key, record } = await keys.create({
      name: 'k',
      role: 'admin',
      servers: null,
      expiresAt: null,
    });
    const counted = counting(store);
    const authenticator = new ApiKeyAuthenticator({
      store: counted.store,
      hashingSecret: HASHING_SECRET,
      logger: createLogger({ level: 'info', destination: log.stream }),
    });
    await Promise.all(Array.from({ length: 50 }, () => authenticator.verify(key, RESOURCE)));
    for (let i = 0; i < 50; i++) principalOf(await authenticator.verify(key, RESOURCE));
    assert.equal(counted.finds(), 1);
    assert.equal(counted.touches(), 1);
    await waitFor(async () => (await store.findApiKey(record.id))?.lastUsedAt ?? undefined, {
      what: 'the last use recorded',
    });
  });
}

describe('API keys (authenticator and issuing)', function () {
  this.timeout(60_000);

  describe('PGlite (embedded)', () => {
    const pglite = sharedPGlite('keys_test');
    authenticatorContract({
      open: () => pglite.open(),
      rows: async () => {
        const result = await pglite
          .instance()
          .query<Record<string, unknown>>(`SELECT * FROM ${pglite.lastSchema()}.api_keys`);
        return result.rows;
      },
    });
  });

  describe('PostgreSQL (real server)', () => {
    const runId = randomUUID().replaceAll('-', '').slice(0, 12);
    const schemas: string[] = [];
    let admin: pg.Pool;
    before(() => {
      admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    });
    after(async () => {
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    authenticatorContract({
      open: async () => {
        const schema = `mcpfleet_keys_${runId}_${schemas.length}`;
        schemas.push(schema);
        return openStore({ databaseUrl: DATABASE_URL, schema });
      },
      rows: async () => {
        const { rows } = await admin.query<Record<string, unknown>>(
          `SELECT * FROM ${schemas.at(-1)}.api_keys`,
        );
        return rows;
      },
    });

    it('a revocation on one replica reaches another through Redis pub/sub, before its cache expires', async () => {
      const schema = `mcpfleet_keys_${runId}_replicas`;
      schemas.push(schema);
      const [storeA, storeB] = [
        await openStore({ databaseUrl: DATABASE_URL, schema }),
        await openStore({ databaseUrl: DATABASE_URL, schema }),
      ];
      const [coordA, coordB] = [
        await openCoord({ redisUrl: REDIS_URL }),
        await openCoord({ redisUrl: REDIS_URL }),
      ];
      const log = logRecorder();
      const logger = createLogger({ level: 'info', destination: log.stream });
      const replica = (store: Store, coord: typeof coordA): ApiKeys =>
        new ApiKeys({
          store,
          coord,
          hashingSecret: { secret: HASHING_SECRET },
          // An hour: only the message can end the cached row within this test.
          authenticator: new ApiKeyAuthenticator({
            store,
            hashingSecret: HASHING_SECRET,
            logger,
            cacheTtlMs: 3_600_000,
          }),
          logger,
        });
      const a = replica(storeA, coordA);
      const b = replica(storeB, coordB);
      try {
        await a.start();
        await b.start();
        const { key, record } = await a.create({
          name: 'ci-bot',
          role: 'operator',
          servers: null,
          expiresAt: null,
        });
        principalOf(await b.authenticator.verify(key, RESOURCE)); // now cached on b
        await a.revoke(record.id);
        await waitFor(async () => isRefusal(await b.authenticator.verify(key, RESOURCE)), {
          what: 'replica b to refuse the revoked key',
        });
      } finally {
        await a.close();
        await b.close();
        await Promise.all([coordA.close(), coordB.close(), storeA.close(), storeB.close()]);
      }
    });
  });
});
