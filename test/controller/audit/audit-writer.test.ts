// The batched writer over a real store (PGlite): records go in one multi-row INSERT per batch,
// a full batch is written without waiting for the flush period, close() writes the rest, and a
// record after close is dropped and counted rather than written past the final flush.
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { AuditLog } from '../../../controller/audit/audit-log.ts';
import { AuditMetrics } from '../../../controller/audit/audit-metrics.ts';
import { recordToolCalls } from '../../../controller/audit/tool-call-records.ts';
import { ANONYMOUS } from '../../../controller/auth/principal.ts';
import type { AuditRecord } from '../../../controller/audit/audit-record.ts';
import { AuditWriter } from '../../../controller/audit/audit-writer.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import type { Store } from '../../../controller/store/store.ts';
import { waitFor } from '../coord/wait-for.ts';
import { sharedPGlite } from '../store/shared-pglite.ts';
import { sampleRecord } from './sample-record.ts';

const HOUR = 3_600_000;

describe('audit writer', function () {
  this.timeout(30_000);
  const pglite = sharedPGlite('audit_writer');
  let store: Store;
  /** The size of each INSERT the writer sent. */
  let inserts: number[];
  let sink: Pick<Store, 'insertAuditRecords'>;
  beforeEach(async () => {
    store = await pglite.open();
    inserts = [];
    sink = {
      insertAuditRecords: (records: readonly AuditRecord[]) => {
        inserts.push(records.length);
        return store.insertAuditRecords(records);
      },
    };
  });

  it('writes a batch per INSERT, and what is left on close', async function () {
    const writer = new AuditWriter({
      store: sink,
      logger: silentLogger(),
      flushMs: HOUR,
      batchRows: 500,
    });
    for (let i = 0; i < 1200; i++) writer.record(sampleRecord({ requestId: `r${i}` }));
    await writer.close();
    assert.deepEqual(
      inserts.sort((a, b) => b - a),
      [500, 500, 200],
    );
    assert.equal((await store.listAudit({ limit: 1000 })).length, 1000);
    assert.deepEqual(writer.counts, { written: 1200, dropped: 0 });
  });

  it('writes a full batch at once, not at the next period', async function () {
    const writer = new AuditWriter({
      store: sink,
      logger: silentLogger(),
      flushMs: HOUR,
      batchRows: 50,
    });
    try {
      for (let i = 0; i < 50; i++) writer.record(sampleRecord());
      await waitFor(async () => (await store.listAudit({})).length >= 50, {
        timeoutMs: 10_000,
        intervalMs: 20,
        what: 'the full batch to be written',
      });
      assert.deepEqual(inserts, [50]);
    } finally {
      await writer.close();
    }
  });

  it('drops and counts a record that comes after the final flush', async function () {
    const registry = new Registry();
    const metrics = new AuditMetrics(registry, () => 0);
    const writer = new AuditWriter({ store: sink, logger: silentLogger(), metrics, flushMs: HOUR });
    writer.record(sampleRecord());
    await writer.close();
    writer.record(sampleRecord());
    assert.deepEqual(writer.counts, { written: 1, dropped: 1 });
    const text = await registry.metrics();
    assert.match(text, /^mcpfleet_audit_records_dropped_total\{reason="closed"\} 1$/m);
    assert.match(text, /^mcpfleet_audit_records_written_total 1$/m);
    assert.equal((await store.listAudit({})).length, 1);
  });

  it('writes a tool name PostgreSQL would refuse (NUL, half a surrogate pair) made safe', async function () {
    const audit = new AuditLog({ store, logger: silentLogger(), flushMs: HOUR, retentionMs: 0 });
    recordToolCalls(audit, {
      slug: 'everything',
      requestId: 'r-odd',
      principal: ANONYMOUS,
      calls: [
        { method: 'tools/call', params: { name: 'a\u0000b\ud800c\udc00' } },
        { method: 'tools/call', params: { name: 'echo' } },
      ],
      at: Date.now(),
      durationMs: 1,
      status: 200,
      completed: true,
    });
    await audit.close();
    const tools = (await store.listAudit({})).map((r) => r.tool).sort();
    assert.deepEqual(tools, ['a\uFFFDb\uFFFDc\uFFFD', 'echo']);
  });
});
