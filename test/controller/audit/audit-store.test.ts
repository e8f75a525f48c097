// The audit_log table (migration 005) on both backends, embedded PGlite and a real PostgreSQL:
// a batch is one INSERT, reads are newest first with every filter, pages follow their cursor
// without a gap or a repeat, and the retention's DELETE takes only old rows, a batch at a time,
// and stands aside while another controller holds its lock.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { AuditRecord } from '../../../controller/audit/audit-record.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import type { Store } from '../../../controller/store/store.ts';
import { sharedPGlite } from '../store/shared-pglite.ts';
import { DATABASE_URL } from '../store/postgres-schema.ts';
import { sampleRecord } from './sample-record.ts';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const MINUTE = 60_000;

const record = (overrides: Partial<AuditRecord> = {}): AuditRecord =>
  sampleRecord({ at: T0, ...overrides });

interface Backend {
  open(): Promise<Store>;
  /** A second controller's store over the same database, where the backend has one. */
  sibling?(): Promise<Store>;
}

function auditContract(backend: Backend): void {
  let store: Store;
  /** Every store a test opened (a sibling too), closed after it. */
  const opened = new Set<Store>();
  const track = (s: Store): Store => (opened.add(s), s);
  beforeEach(async () => (store = track(await backend.open())));
  afterEach(async () => {
    await Promise.all([...opened].map((s) => s.close()));
    opened.clear();
  });

  it('keeps every field of a batch, and reads it back newest first', async () => {
    const batch = [
      record({ at: T0, tool: 'first' }),
      record({
        at: T0 + MINUTE,
        action: 'wake',
        tool: null,
        decision: 'denied',
        reason: 'This needs the operator role',
        status: 403,
        completed: false,
        principal: 'token:https://idp.example#alice',
        principalName: 'alice',
      }),
      record({
        at: T0 + 2 * MINUTE,
        action: 'keys.revoke',
        server: null,
        target: 'abc',
        tool: null,
      }),
    ];
    await store.insertAuditRecords(batch);
    const listed = await store.listAudit({});
    assert.deepEqual(
      listed.map(({ id: _id, ...rest }) => rest),
      [...batch].reverse().map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
    );
  });

  it('filters by server, principal id or name, action and time', async () => {
    await store.insertAuditRecords([
      record({ at: T0, server: 'memory', requestId: 'r-memory' }),
      record({
        at: T0 + MINUTE,
        principal: 'key:fedcba9876543210',
        principalName: 'other',
        requestId: 'r-other',
      }),
      record({ at: T0 + 2 * MINUTE, action: 'sleep', tool: null, requestId: 'r-sleep' }),
      record({ at: T0 + 3 * MINUTE, requestId: 'r-late' }),
    ]);
    const ids = async (query: Parameters<Store['listAudit']>[0]) =>
      (await store.listAudit(query)).map((r) => r.requestId);
    assert.deepEqual(await ids({ server: 'memory' }), ['r-memory']);
    assert.deepEqual(await ids({ principal: 'other' }), ['r-other']);
    assert.deepEqual(await ids({ principal: 'key:fedcba9876543210' }), ['r-other']);
    assert.deepEqual(await ids({ action: 'sleep' }), ['r-sleep']);
    assert.deepEqual(await ids({ since: T0 + MINUTE, until: T0 + 3 * MINUTE }), [
      'r-sleep',
      'r-other',
    ]);
    assert.deepEqual(await ids({ principal: 'ci-bot', action: 'tools/call', since: T0 + MINUTE }), [
      'r-late',
    ]);
  });

  it('pages through records of one instant by their cursor, without a gap or a repeat', async () => {
    // Several replicas' batches land at the same millisecond: the id breaks the tie.
    const batch = Array.from({ length: 25 }, (_, i) =>
      record({ at: T0 + (i % 3 === 0 ? 0 : i * 1000), requestId: `r${i}` }),
    );
    await store.insertAuditRecords(batch);
    const seen: string[] = [];
    let after: { at: number; id: number } | undefined;
    for (;;) {
      const page = await store.listAudit({ limit: 7, ...(after ? { after } : {}) });
      seen.push(...page.map((r) => r.requestId));
      if (page.length < 7) break;
      const last = page.at(-1)!;
      after = { at: Date.parse(last.at), id: last.id };
    }
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    const all = (await store.listAudit({ limit: 1000 })).map((r) => r.requestId);
    assert.deepEqual(seen, all);
  });

  it('deletes only records older than the bound, a batch at a time', async () => {
    await store.insertAuditRecords([
      ...Array.from({ length: 5 }, (_, i) => record({ at: T0 + i, requestId: `old${i}` })),
      record({ at: T0 + 10 * MINUTE, requestId: 'kept' }),
    ]);
    assert.equal(await store.deleteAuditBefore(T0 + MINUTE, 2), 2);
    assert.equal(await store.deleteAuditBefore(T0 + MINUTE, 2), 2);
    assert.equal(await store.deleteAuditBefore(T0 + MINUTE, 2), 1);
    assert.equal(await store.deleteAuditBefore(T0 + MINUTE, 2), 0);
    assert.deepEqual(
      (await store.listAudit({})).map((r) => r.requestId),
      ['kept'],
    );
  });

  if (backend.sibling) {
    it('leaves the deleting to the controller that holds the retention lock', async () => {
      await store.insertAuditRecords([record({ at: T0 })]);
      const other = track(await backend.sibling!());
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      try {
        await admin.query('BEGIN');
        await admin.query("SELECT pg_advisory_xact_lock(hashtext('mcpfleet:audit-retention'))");
        assert.equal(await other.deleteAuditBefore(T0 + 1, 100), undefined);
        await admin.query('COMMIT');
        assert.equal(await other.deleteAuditBefore(T0 + 1, 100), 1);
      } finally {
        await admin.end();
      }
    });
  }
}

describe('audit log in the store', function () {
  this.timeout(60_000);

  describe('PGlite (embedded)', () => {
    const pglite = sharedPGlite('audit_store');
    auditContract({ open: () => pglite.open() });
  });

  describe('PostgreSQL (real server)', () => {
    const runId = randomUUID().replaceAll('-', '').slice(0, 12);
    const schemas: string[] = [];
    let current = '';
    after(async () => {
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    auditContract({
      open: () => {
        current = `mcpfleet_audit_${runId}_${schemas.length}`;
        schemas.push(current);
        return openStore({ databaseUrl: DATABASE_URL, schema: current });
      },
      sibling: () => openStore({ databaseUrl: DATABASE_URL, schema: current }),
    });
  });
});
