// The tool policy's decision in the audit log (gateway/call-policy.ts fills the audit seam of
// gateway/routes.ts): through the real controller and server-everything whose access block lets
// only `echo` be called, the SDK client's allowed call is recorded `allowed`, its refused one
// `denied` with the rule that refused it, and in a batch refused whole the call that was let
// through is `denied` too, saying it was not sent.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import { everythingStdio } from '../fleet/specs.ts';
import { postMcp } from '../fleet/serve-process.ts';
import { waitForAudit } from './audit-reads.ts';

describe('audit log of tool policy decisions', function () {
  this.timeout(60_000);
  let controller: RunningController;
  before(async function () {
    controller = await startController({
      specs: [{ ...everythingStdio('everything'), access: { tools: { allow: ['echo'] } } }],
      port: 0,
      dataDir: 'memory://',
      audit: { flushMs: 50 },
      logger: silentLogger(),
    });
  });
  after(() => controller?.close());

  it('records allowed and denied calls with the rule, and a refused batch as not sent', async function () {
    const endpoint = `${controller.url}/servers/everything/mcp`;
    const client = new Client({ name: 'audit-policy', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(endpoint));
    await client.connect(transport);
    await client.callTool({ name: 'echo', arguments: { message: 'ok' } });
    await assert.rejects(
      client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }),
      (err: unknown) => err instanceof McpError,
    );
    const batch = await postMcp(
      endpoint,
      JSON.stringify([
        {
          jsonrpc: '2.0',
          id: 21,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: 'b' } },
        },
        {
          jsonrpc: '2.0',
          id: 22,
          method: 'tools/call',
          params: { name: 'get-env', arguments: {} },
        },
      ]),
      transport.sessionId,
    );
    assert.equal(batch.status, 200);
    await client.close();

    const records = await waitForAudit(controller.url, { action: 'tools/call' }, 4);
    const [batchA, batchB, refused, allowed] = records;
    assert.deepEqual(
      [allowed!.tool, allowed!.decision, allowed!.reason, allowed!.status],
      ['echo', 'allowed', null, 200],
    );
    assert.deepEqual([refused!.tool, refused!.decision], ['get-sum', 'denied']);
    assert.match(refused!.reason!, /\(rule everything:access\.tools[^)]*\)$/);
    const inBatch = Object.fromEntries([batchA!, batchB!].map((r) => [r.tool, r]));
    assert.equal(inBatch['get-env']!.decision, 'denied');
    assert.equal(inBatch.echo!.decision, 'denied');
    assert.match(inBatch.echo!.reason!, /^not sent: this batch also calls tool "get-env"/);
  });
});
