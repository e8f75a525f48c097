// PostgreSQL going away under a running controller (a proxy in front of the real server that
// closes its port, then opens it again): every tools/call is still answered; the audit records
// wait in memory up to their bound, the ones past it are dropped and counted in
// mcpfleet_audit_records_dropped_total; when the store is back the kept ones are written.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { silentLogger } from '../../../controller/observability/log.ts';
import { waitFor } from '../coord/wait-for.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { answerTo, openSession, postMcp, toolCall } from '../fleet/serve-process.ts';
import {
  startControllerBehindProxy,
  type ControllerBehindProxy,
} from '../store/controller-behind-proxy.ts';
import { waitForAudit } from './audit-reads.ts';

const KEPT = 5;
const CALLS_DURING_OUTAGE = 12;

async function metric(base: string, line: RegExp): Promise<number> {
  const text = await (await request(`${base}/metrics`)).body.text();
  const match = line.exec(text);
  return match ? Number(match[1]) : NaN;
}

describe('audit log while PostgreSQL is unreachable', function () {
  this.timeout(60_000);
  let running: ControllerBehindProxy | undefined;
  after(() => running?.close());

  it('answers every call, keeps records up to the bound, counts the drops, writes the rest later', async function () {
    running = await startControllerBehindProxy(`mcpfleet_audit_outage_${process.pid}`, {
      specs: [stdioFixture('echoes', 'normal')],
      port: 0,
      storeTimeoutMs: 1_000,
      audit: { flushMs: 50, maxBuffered: KEPT },
      logger: silentLogger(),
    });
    const { controller, proxy } = running;
    const base = controller.url;
    const mcp = `${base}/servers/echoes/mcp`;
    const dropped = () =>
      metric(base, /^mcpfleet_audit_records_dropped_total\{reason="buffer-full"\} (\d+)$/m);
    const buffered = () => metric(base, /^mcpfleet_audit_records_buffered (\d+)$/m);
    const written = () => metric(base, /^mcpfleet_audit_records_written_total (\d+)$/m);

    const session = await openSession(mcp);
    const before = await postMcp(mcp, toolCall(1, 'echo', { text: 'before' }), session);
    assert.ok(answerTo(before, 1)?.result);
    await waitForAudit(base, { action: 'tools/call' }, 1);

    await proxy.refuse();
    for (let id = 2; id < 2 + CALLS_DURING_OUTAGE; id++) {
      const reply = await postMcp(mcp, toolCall(id, 'echo', { text: `during ${id}` }), session);
      assert.equal(reply.status, 200);
      assert.ok(answerTo(reply, id)?.result, JSON.stringify(reply.messages));
    }
    await waitFor(
      async () => (await dropped()) === CALLS_DURING_OUTAGE - KEPT && (await buffered()) === KEPT,
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: `${CALLS_DURING_OUTAGE - KEPT} dropped and ${KEPT} buffered`,
      },
    );

    await proxy.reopen();
    const records = await waitForAudit(base, { action: 'tools/call' }, 1 + KEPT);
    assert.equal(records.length, 1 + KEPT);
    assert.equal(await written(), 1 + KEPT);
    assert.equal(await dropped(), CALLS_DURING_OUTAGE - KEPT);
    assert.equal(await buffered(), 0);
  });
});
