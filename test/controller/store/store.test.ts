// Runs the Store contract against both backends: embedded PGlite and a real PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../../../controller/store/open-store.ts';
import { SqlStore } from '../../../controller/store/sql-store.ts';
import type { Store } from '../../../controller/store/store.ts';
import { sharedPGlite } from './shared-pglite.ts';
import { storeContract } from './store-contract.ts';
import { withSilentPeer } from '../support/silent-peer.ts';
import { freePort } from '../support/free-port.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function appliedMigrations(store: Store): Promise<string[]> {
  assert.ok(store instanceof SqlStore);
  return store.appliedMigrations();
}

describe('store', () => {
  describe('PGlite (embedded, in memory)', () => {
    const pglite = sharedPGlite('pglite_test');
    storeContract({ open: (options) => pglite.open(options), appliedMigrations });

    it('is what openStore gives without a database URL, migrated', async () => {
      const store = await openStore({ dataDir: 'memory://' });
      try {
        assert.deepEqual(await appliedMigrations(store), ['001', '002', '003', '004', '005']);
        await store.recordStatus('a', 'ready');
        assert.equal((await store.statusHistory('a')).length, 1);
      } finally {
        await store.close();
      }
    });
  });

  describe('PGlite (embedded, on disk)', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mcpfleet-store-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('creates its data directory and keeps data across restarts', async () => {
      const dataDir = join(dir, 'nested', 'pgdata');
      const first = await openStore({ dataDir });
      await first.recordEvent({ server: 'everything', type: 'wake', durationMs: 42 });
      await first.close();
      const second = await openStore({ dataDir });
      try {
        const events = await second.listEvents({ server: 'everything' });
        assert.deepEqual(
          events.map((e) => [e.type, e.durationMs]),
          [['wake', 42]],
        );
        assert.deepEqual(await appliedMigrations(second), ['001', '002', '003', '004', '005']);
      } finally {
        await second.close();
      }
    });
  });

  describe('PostgreSQL (real server)', () => {
    // Every test gets its own schema, dropped at the end, so runs never see each other.
    const runId = randomUUID().replaceAll('-', '').slice(0, 12);
    const schemas: string[] = [];
    let admin: pg.Pool;
    let current = '';

    before(() => {
      admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    });
    after(async () => {
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });

    storeContract({
      open: (options) => {
        current = `mcpfleet_test_${runId}_${schemas.length}`;
        schemas.push(current);
        return openStore({ databaseUrl: DATABASE_URL, schema: current, ...options });
      },
      openSibling: () => openStore({ databaseUrl: DATABASE_URL, schema: current }),
      appliedMigrations,
    });

    it('lets several controllers start at once on a fresh database', async () => {
      // Without the advisory lock, concurrent CREATE TABLE IF NOT EXISTS / inserts into
      // schema_migrations fail with duplicate-key errors.
      const schema = `mcpfleet_test_${runId}_race`;
      schemas.push(schema);
      const stores = await Promise.all(
        Array.from({ length: 6 }, () => openStore({ databaseUrl: DATABASE_URL, schema })),
      );
      try {
        const { rows } = await admin.query<{ version: string }>(
          `SELECT version FROM ${schema}.schema_migrations ORDER BY version`,
        );
        assert.deepEqual(
          rows.map((r) => r.version),
          ['001', '002', '003', '004', '005'],
        );
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('puts its tables in the schema it was given, not public', async () => {
      const schema = `mcpfleet_test_${runId}_own`;
      schemas.push(schema);
      const store = await openStore({ databaseUrl: DATABASE_URL, schema });
      await store.close();
      const { rows } = await admin.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
        [schema],
      );
      assert.deepEqual(
        rows.map((r) => r.table_name),
        [
          'api_keys',
          'audit_log',
          'events',
          'health_results',
          'schema_migrations',
          'status_history',
        ],
      );
    });

    it('refuses to run when an applied migration was edited', async () => {
      const schema = `mcpfleet_test_${runId}_edited`;
      schemas.push(schema);
      const store = await openStore({ databaseUrl: DATABASE_URL, schema });
      await store.close();
      await admin.query(
        `UPDATE ${schema}.schema_migrations SET checksum = 'x' WHERE version = '002'`,
      );
      await assert.rejects(
        openStore({ databaseUrl: DATABASE_URL, schema }),
        /migration 002_status_history changed after it was applied/,
      );
    });
  });

  describe('bad database settings', () => {
    it('names the URL when nothing listens there, without hanging', async () => {
      const port = await freePort();
      const started = Date.now();
      await assert.rejects(
        openStore({ databaseUrl: `postgres://postgres:s3cret@127.0.0.1:${port}/test` }),
        (err: Error) => {
          assert.match(
            err.message,
            new RegExp(
              `^cannot connect to PostgreSQL at postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/test: .*ECONNREFUSED`,
            ),
          );
          assert.doesNotMatch(err.message, /s3cret/);
          return true;
        },
      );
      assert.ok(Date.now() - started < 5_000);
    });

    it('gives up within its timeout on a peer that accepts but never answers', async () => {
      await withSilentPeer(async (port) => {
        const started = Date.now();
        await assert.rejects(
          openStore({
            databaseUrl: `postgres://postgres@127.0.0.1:${port}/test`,
            connectTimeoutMs: 300,
          }),
          /cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/test: .*timeout/i,
        );
        assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
      });
    });

    it('says which database does not exist', async () => {
      const url = DATABASE_URL.replace(/\/[^/]*$/, `/no_such_db_${randomUUID().slice(0, 8)}`);
      await assert.rejects(
        openStore({ databaseUrl: url }),
        /cannot connect to PostgreSQL at .*does not exist/,
      );
    });

    it('rejects a URL that is not a PostgreSQL URL, and a bad schema name', async () => {
      await assert.rejects(
        openStore({ databaseUrl: 'mysql://x@y/z' }),
        /postgres:\/\/ or postgresql:\/\//,
      );
      await assert.rejects(
        openStore({ databaseUrl: 'nonsense' }),
        /invalid database URL "nonsense"/,
      );
      await assert.rejects(
        openStore({ databaseUrl: DATABASE_URL, schema: 'x; DROP TABLE y' }),
        /invalid schema name/,
      );
    });

    it('explains when the embedded data directory cannot be created', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mcpfleet-store-'));
      try {
        const file = join(dir, 'a-file');
        await import('node:fs/promises').then((fs) => fs.writeFile(file, 'x'));
        await assert.rejects(
          openStore({ dataDir: join(file, 'pgdata') }),
          /cannot open the embedded database under ".*a-file\/pgdata"/,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
