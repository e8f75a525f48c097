// A running controller deletes audit records past --audit-retention by itself, batch after
// batch (more old rows than one DELETE takes), and keeps the newer ones; 0 keeps everything.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AuditRecord } from '../../../controller/audit/audit-record.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import type { Store } from '../../../controller/store/store.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { DATABASE_URL, dropSchema, schemaUrl } from '../store/postgres-schema.ts';
import { sampleRecord } from './sample-record.ts';

const HOUR = 3_600_000;

function oldRecord(at: number, i: number): AuditRecord {
  return sampleRecord({ at, server: 'fix', requestId: `r${i}` });
}

describe('audit retention in a running controller', function () {
  this.timeout(60_000);
  const runId = randomUUID().replaceAll('-', '').slice(0, 10);
  const schemas: string[] = [];
  let store: Store | undefined;
  let controller: RunningController | undefined;
  afterEach(async () => {
    await controller?.close();
    await store?.close();
    controller = store = undefined;
  });
  after(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });

  async function withRows(retentionMs: number): Promise<void> {
    const schema = `mcpfleet_audit_ret_${runId}_${schemas.length}`;
    schemas.push(schema);
    store = await openStore({ databaseUrl: DATABASE_URL, schema });
    const now = Date.now();
    // 2,500 past an hour (three DELETE batches of 1,000), 3 from ten minutes ago.
    for (let start = 0; start < 2500; start += 500)
      await store.insertAuditRecords(
        Array.from({ length: 500 }, (_, i) => oldRecord(now - 2 * HOUR - i, start + i)),
      );
    await store.insertAuditRecords([0, 1, 2].map((i) => oldRecord(now - HOUR / 6, 9000 + i)));
    controller = await startController({
      specs: [stdioFixture('fix', 'normal')],
      port: 0,
      databaseUrl: schemaUrl(schema),
      audit: { retentionMs, retentionIntervalMs: 100 },
      logger: silentLogger(),
    });
  }

  it('deletes every record older than the retention, and only those', async function () {
    await withRows(HOUR);
    const deadline = Date.now() + 30_000;
    let left = await store!.listAudit({ limit: 1000 });
    while (left.length > 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await store!.listAudit({ limit: 1000 });
    }
    assert.deepEqual(left.map((r) => r.requestId).sort(), ['r9000', 'r9001', 'r9002']);
  });

  it('keeps everything with a retention of 0', async function () {
    await withRows(0);
    await new Promise((resolve) => setTimeout(resolve, 500)); // five sweep periods
    const kept = await store!.listAudit({ since: 0, until: Date.now() - HOUR, limit: 1000 });
    assert.equal(kept.length, 1000);
    assert.equal((await store!.listAudit({ limit: 1000, since: Date.now() - HOUR })).length, 3);
  });
});
