// The Store contract, run against every backend (store.test.ts): embedded PGlite and a real
// PostgreSQL must behave the same for everything the controller writes and the API reads.
import assert from 'node:assert/strict';
import { ApiKeyNameTakenError, type Store } from '../../../controller/store/store.ts';
import type { EventType } from '../../../controller/api/types.ts';

export interface StoreBackend {
  /** A migrated store over a fresh, empty database (or schema). */
  open(options?: { healthRetention?: number }): Promise<Store>;
  /** Another store over the same database as the last open() (a second controller). */
  openSibling?(): Promise<Store>;
  /** Rows of schema_migrations in the last opened database. */
  appliedMigrations(store: Store): Promise<string[]>;
}

export function storeContract(backend: StoreBackend): void {
  let store: Store;
  const opened: Store[] = [];

  beforeEach(async () => {
    store = await backend.open();
    opened.push(store);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  describe('migrations', () => {
    it('are applied once, in order, and recorded', async () => {
      assert.deepEqual(await backend.appliedMigrations(store), ['001', '002', '003', '004', '005']);
    });

    it('are idempotent: migrating again changes nothing and keeps data', async () => {
      await store.recordEvent({ server: 'a', type: 'wake' });
      await store.migrate();
      await store.migrate();
      assert.deepEqual(await backend.appliedMigrations(store), ['001', '002', '003', '004', '005']);
      assert.equal((await store.listEvents({})).length, 1);
    });

    it('tolerate concurrent runs', async () => {
      const siblings = backend.openSibling
        ? await Promise.all([backend.openSibling(), backend.openSibling(), backend.openSibling()])
        : [];
      opened.push(...siblings);
      // Fresh siblings already migrated on open, racing each other; race once more here.
      await Promise.all([store, ...siblings].flatMap((s) => [s.migrate(), s.migrate()]));
      assert.deepEqual(await backend.appliedMigrations(store), ['001', '002', '003', '004', '005']);
    });
  });

  describe('events', () => {
    it('returns what was recorded, with ids, ISO times, durations and data', async () => {
      const at = new Date('2026-01-02T03:04:05.678Z');
      const recorded = await store.recordEvent({
        server: 'everything',
        type: 'wake',
        at,
        durationMs: 123.5,
        message: 'woke in 123.5 ms',
        data: { replicas: 1, reason: 'request', nested: { ok: true } },
      });
      assert.ok(Number.isInteger(recorded.id) && recorded.id > 0);
      assert.deepEqual(recorded, {
        id: recorded.id,
        server: 'everything',
        type: 'wake',
        at: '2026-01-02T03:04:05.678Z',
        durationMs: 123.5,
        message: 'woke in 123.5 ms',
        data: { replicas: 1, reason: 'request', nested: { ok: true } },
      });
      assert.deepEqual(await store.listEvents({ server: 'everything' }), [recorded]);
    });

    it('fills in now and nulls for what an event does not carry', async () => {
      const before = Date.now();
      const recorded = await store.recordEvent({ server: 'a', type: 'sleep' });
      assert.equal(recorded.durationMs, null);
      assert.equal(recorded.message, null);
      assert.equal(recorded.data, null);
      const at = Date.parse(recorded.at);
      assert.ok(at >= before - 1000 && at <= Date.now() + 1000, recorded.at);
    });

    it('lists newest first, filtered by server and type, limited', async () => {
      const base = Date.parse('2026-03-01T00:00:00Z');
      const plan: Array<[string, EventType, number]> = [
        ['a', 'wake', 5],
        ['b', 'wake', 1],
        ['a', 'sleep', 3],
        ['a', 'wake', 9],
        ['b', 'health', 7],
        ['a', 'health', 1],
      ];
      // Recorded out of time order on purpose: listing sorts by the event time.
      for (const [server, type, minute] of plan) {
        await store.recordEvent({
          server,
          type,
          at: new Date(base + minute * 60_000),
          durationMs: minute,
        });
      }
      const minutes = (events: { durationMs: number | null }[]): (number | null)[] =>
        events.map((e) => e.durationMs);

      assert.deepEqual(minutes(await store.listEvents({})), [9, 7, 5, 3, 1, 1]);
      assert.deepEqual(minutes(await store.listEvents({ server: 'a' })), [9, 5, 3, 1]);
      assert.deepEqual(minutes(await store.listEvents({ type: 'wake' })), [9, 5, 1]);
      assert.deepEqual(minutes(await store.listEvents({ server: 'a', type: 'wake' })), [9, 5]);
      assert.deepEqual(minutes(await store.listEvents({ server: 'a', limit: 2 })), [9, 5]);
      assert.deepEqual(await store.listEvents({ server: 'nobody' }), []);
      const all = await store.listEvents({ server: 'a' });
      assert.ok(all.every((e) => e.server === 'a'));
    });

    it('lists the events after a cursor id oldest first, by id whatever their time (a follower)', async () => {
      const base = Date.parse('2026-04-01T00:00:00Z');
      const recorded = [];
      // The second is stamped earlier than the first: a follower still gets it after it.
      for (const [server, type, minute] of [
        ['a', 'wake', 5],
        ['a', 'sleep', 1],
        ['b', 'wake', 9],
        ['a', 'wake', 7],
      ] as const) {
        recorded.push(
          await store.recordEvent({ server, type, at: new Date(base + minute * 60_000) }),
        );
      }
      const ids = (events: { id: number }[]): number[] => events.map((e) => e.id);
      const [first, second, third, fourth] = recorded.map((e) => e.id) as [
        number,
        number,
        number,
        number,
      ];
      assert.deepEqual(ids(await store.listEvents({ afterId: first })), [second, third, fourth]);
      assert.deepEqual(ids(await store.listEvents({ afterId: first, server: 'a' })), [
        second,
        fourth,
      ]);
      assert.deepEqual(
        ids(await store.listEvents({ afterId: first - 1, type: 'wake', limit: 2 })),
        [first, third],
      );
      assert.deepEqual(await store.listEvents({ afterId: fourth }), []);
    });

    it('breaks ties in time by insertion order, newest first', async () => {
      const at = new Date('2026-03-01T00:00:00Z');
      const first = await store.recordEvent({ server: 'a', type: 'wake', at });
      const second = await store.recordEvent({ server: 'a', type: 'sleep', at });
      assert.deepEqual(
        (await store.listEvents({ server: 'a' })).map((e) => e.id),
        [second.id, first.id],
      );
    });

    it('defaults to 100 events and caps the limit at 1000', async () => {
      for (let batch = 0; batch < 11; batch++) {
        await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            store.recordEvent({ server: 'busy', type: 'health', durationMs: batch * 100 + i }),
          ),
        );
      }
      assert.equal((await store.listEvents({ server: 'busy' })).length, 100);
      assert.equal((await store.listEvents({ server: 'busy', limit: 5000 })).length, 1000);
    });

    it('rejects a limit that is not a positive integer', async () => {
      await assert.rejects(store.listEvents({ limit: 0 }), /limit must be a positive integer/);
      await assert.rejects(store.listEvents({ limit: 2.5 }), /limit must be a positive integer/);
    });

    it('stores text exactly, quotes and all (parameters, not string building)', async () => {
      const message = `it's "quoted"; DROP TABLE events; -- ünïcødé`;
      await store.recordEvent({ server: "o'brien", type: 'failed', message });
      const [event] = await store.listEvents({ server: "o'brien" });
      assert.equal(event?.message, message);
    });
  });

  describe('status history', () => {
    it('records transitions with reasons, newest first, per server', async () => {
      await store.recordStatus('a', 'asleep');
      await store.recordStatus('a', 'waking', 'request');
      await store.recordStatus('b', 'ready');
      await store.recordStatus('a', 'ready');
      await store.recordStatus('a', 'failed', 'crash loop: exit code 1');
      const history = await store.statusHistory('a');
      assert.deepEqual(
        history.map((h) => [h.server, h.state, h.reason]),
        [
          ['a', 'failed', 'crash loop: exit code 1'],
          ['a', 'ready', null],
          ['a', 'waking', 'request'],
          ['a', 'asleep', null],
        ],
      );
      assert.ok(history.every((h) => !Number.isNaN(Date.parse(h.at))));
      assert.deepEqual(
        (await store.statusHistory('a', 2)).map((h) => h.state),
        ['failed', 'ready'],
      );
      assert.deepEqual(await store.statusHistory('nobody'), []);
    });
  });

  describe('health results', () => {
    it('records results newest first', async () => {
      await store.recordHealth({ server: 'a', ok: true, latencyMs: 2.5 });
      await store.recordHealth({
        server: 'a',
        ok: false,
        latencyMs: 5000,
        error: 'ping timed out',
      });
      await store.recordHealth({ server: 'b', ok: true, latencyMs: 1 });
      const results = await store.healthResults('a');
      assert.deepEqual(
        results.map(({ at: _at, ...rest }) => rest),
        [
          { server: 'a', ok: false, latencyMs: 5000, error: 'ping timed out' },
          { server: 'a', ok: true, latencyMs: 2.5 },
        ],
      );
    });

    it('keeps only the newest results per server', async () => {
      const bounded = await backend.open({ healthRetention: 20 });
      opened.push(bounded);
      // Retention 20 prunes every 2 inserts, so after 60 exactly the newest 20 remain.
      for (let i = 0; i < 60; i++) {
        await bounded.recordHealth({ server: 'chatty', ok: true, latencyMs: i });
      }
      await bounded.recordHealth({ server: 'quiet', ok: true, latencyMs: 1 });
      const kept = await bounded.healthResults('chatty', 1000);
      assert.equal(kept.length, 20);
      assert.equal(kept[0]?.latencyMs, 59);
      assert.equal(kept.at(-1)?.latencyMs, 40);
      assert.equal((await bounded.healthResults('quiet')).length, 1);
    });
  });

  describe('api keys', () => {
    const key = (id: string, name: string) => ({
      id,
      name,
      role: 'operator' as const,
      servers: ['a', 'b'],
      secretHmac: `hmac-of-${id}`,
      expiresAt: new Date('2030-01-01T00:00:00.000Z'),
    });

    it('stores a key and finds it by id with its HMAC; lists it without', async () => {
      const created = await store.insertApiKey(key('k1', 'ci-bot'));
      assert.deepEqual(created, {
        id: 'k1',
        name: 'ci-bot',
        role: 'operator',
        servers: ['a', 'b'],
        createdAt: created.createdAt,
        expiresAt: '2030-01-01T00:00:00.000Z',
        lastUsedAt: null,
        revokedAt: null,
      });
      assert.ok(Math.abs(Date.parse(created.createdAt) - Date.now()) < 60_000);
      assert.deepEqual(await store.findApiKey('k1'), { ...created, secretHmac: 'hmac-of-k1' });
      assert.deepEqual(await store.listApiKeys(), [created]);
      assert.ok(!('secretHmac' in (await store.listApiKeys())[0]!));
      assert.equal(await store.findApiKey('nope'), undefined);
    });

    it('keeps a name to one live key; a revoked key frees it and keeps its row', async () => {
      await store.insertApiKey({ ...key('k1', 'ci-bot'), servers: null, expiresAt: null });
      await assert.rejects(store.insertApiKey(key('k2', 'ci-bot')), ApiKeyNameTakenError);
      const revoked = await store.revokeApiKey('k1');
      assert.ok(revoked?.revokedAt);
      // A second revoke keeps the first time.
      assert.equal((await store.revokeApiKey('k1'))?.revokedAt, revoked.revokedAt);
      await store.insertApiKey(key('k2', 'ci-bot'));
      assert.deepEqual(
        (await store.listApiKeys()).map((k) => [k.id, k.servers, k.revokedAt !== null]),
        [
          ['k1', null, true],
          ['k2', ['a', 'b'], false],
        ],
      );
      assert.equal(await store.revokeApiKey('nope'), undefined);
    });

    it('records the last use, never moving it backwards', async () => {
      await store.insertApiKey(key('k1', 'ci-bot'));
      await store.touchApiKey('k1', new Date('2026-05-01T10:00:00.000Z'));
      await store.touchApiKey('k1', new Date('2026-04-01T10:00:00.000Z'));
      assert.equal((await store.findApiKey('k1'))?.lastUsedAt, '2026-05-01T10:00:00.000Z');
    });
  });
}
