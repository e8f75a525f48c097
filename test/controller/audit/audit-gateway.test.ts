// Every tools/call through the real gateway is in the audit log, on both stores (a real
// PostgreSQL, and the embedded PGlite the controller runs in its child process): the MCP SDK's
// own client calls server-everything's tools, a JSON-RPC batch gets one record per call, and
// each record names the principal, server, tool, decision, status, completion, duration and the
// request id the client sent. A clean shutdown loses nothing: N calls, one of them still running
// when close() begins, and the writer set never to flush on its own → N rows after the stop.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'undici';
import { silentLogger } from '../../../controller/observability/log.ts';
import {
  startController,
  type RunningController,
  type StartOptions,
} from '../../../controller/start.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import { everythingStdio } from '../fleet/specs.ts';
import { DATABASE_URL, dropSchema, schemaUrl } from '../store/postgres-schema.ts';
import { waitForAudit } from './audit-reads.ts';

interface Backend {
  name: string;
  /** Where a controller keeps its store; `durable`: one that outlives the controller. */
  storeOptions(durable: boolean): Promise<Pick<StartOptions, 'databaseUrl' | 'dataDir'>>;
  cleanup(): Promise<void>;
}

const runId = randomUUID().replaceAll('-', '').slice(0, 10);

function postgres(): Backend {
  const schemas: string[] = [];
  return {
    name: 'PostgreSQL',
    storeOptions: async () => {
      const schema = `mcpfleet_audit_gw_${runId}_${schemas.length}`;
      schemas.push(schema);
      const admin = await openStore({ databaseUrl: DATABASE_URL, schema });
      await admin.close(); // creates the schema, migrated
      return { databaseUrl: schemaUrl(schema) };
    },
    cleanup: async () => {
      for (const schema of schemas) await dropSchema(schema);
    },
  };
}

function pglite(): Backend {
  const dirs: string[] = [];
  return {
    name: 'PGlite',
    storeOptions: async (durable) => {
      if (!durable) return { dataDir: 'memory://' };
      const dir = await mkdtemp(join(tmpdir(), 'mcpfleet-audit-'));
      dirs.push(dir);
      return { dataDir: join(dir, 'pgdata') };
    },
    cleanup: async () => {
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function connect(controller: RunningController, slug: string): Promise<Client> {
  const client = new Client({ name: 'audit-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${controller.url}/servers/${slug}/mcp`)),
  );
  return client;
}

for (const backend of [postgres(), pglite()]) {
  describe(`audit log of tools/call (${backend.name})`, function () {
    this.timeout(120_000);
    after(() => backend.cleanup());

    it('records every tools/call of the SDK client, and each call of a batch', async function () {
      const controller = await startController({
        specs: [everythingStdio('everything')],
        port: 0,
        ...(await backend.storeOptions(false)),
        audit: { flushMs: 50 },
        logger: silentLogger(),
      });
      try {
        const client = await connect(controller, 'everything');
        const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
        assert.deepEqual(echoed.content, [{ type: 'text', text: 'Echo: hi' }]);
        await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
        await client.listTools(); // not a tools/call: not recorded
        // A tool the server does not have: the server answers it (a JSON-RPC or tool error),
        // the gateway let it through, and the record says so.
        await client.callTool({ name: 'no-such-tool', arguments: {} }).catch(() => undefined);

        // A batch of two calls and a list, with the client's own request id.
        const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
        const batch = await request(`${controller.url}/servers/everything/mcp`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-06-18',
            'mcp-session-id': sessionId,
            'x-request-id': 'batch-request-1',
          },
          body: JSON.stringify([
            {
              jsonrpc: '2.0',
              id: 11,
              method: 'tools/call',
              params: { name: 'echo', arguments: { message: 'a' } },
            },
            { jsonrpc: '2.0', id: 12, method: 'tools/list' },
            {
              jsonrpc: '2.0',
              id: 13,
              method: 'tools/call',
              params: { name: 'get-sum', arguments: { a: 2, b: 3 } },
            },
          ]),
        });
        assert.equal(batch.statusCode, 200);
        await batch.body.text();
        await client.close();

        const records = await waitForAudit(controller.url, { server: 'everything' }, 5);
        assert.equal(records.length, 5, JSON.stringify(records));
        assert.ok(records.every((r) => r.action === 'tools/call'));
        // Newest first: the batch's two (same request id, either order), then the three calls.
        assert.deepEqual(
          records.slice(2).map((r) => r.tool),
          ['no-such-tool', 'get-sum', 'echo'],
        );
        assert.deepEqual(
          records
            .slice(0, 2)
            .map((r) => r.tool)
            .sort(),
          ['echo', 'get-sum'],
        );
        assert.deepEqual(
          records.slice(0, 2).map((r) => r.requestId),
          ['batch-request-1', 'batch-request-1'],
        );
        assert.equal(new Set(records.slice(2).map((r) => r.requestId)).size, 3);
        for (const r of records) {
          assert.equal(r.principal, 'anonymous');
          assert.equal(r.principalName, 'anonymous');
          assert.equal(r.server, 'everything');
          assert.equal(r.decision, 'allowed');
          assert.equal(r.status, 200);
          assert.equal(r.completed, true);
          assert.ok(r.durationMs > 0 && r.durationMs < 60_000, String(r.durationMs));
          assert.ok(Math.abs(Date.parse(r.at) - Date.now()) < 60_000, r.at);
        }
      } finally {
        await controller.close();
      }
    });

    it('loses nothing on a clean shutdown: N calls, one still running at close → N rows', async function () {
      const where = await backend.storeOptions(true);
      const controller = await startController({
        specs: [everythingStdio('everything')],
        port: 0,
        ...where,
        // Never on its own: whatever is written was written by the final flush.
        audit: { flushMs: 3_600_000, batchRows: 1000 },
        shutdownGraceMs: 20_000,
        logger: silentLogger(),
      });
      const N = 20;
      let closed: Promise<void> | undefined;
      try {
        const client = await connect(controller, 'everything');
        for (let i = 0; i < N - 1; i++)
          await client.callTool({ name: 'echo', arguments: { message: `m${i}` } });
        const running = client.callTool({
          name: 'trigger-long-running-operation',
          arguments: { duration: 1, steps: 2 },
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        closed = controller.close(); // the long call is in flight: the grace lets it finish
        const answered = await running;
        assert.match(JSON.stringify(answered.content), /Long running operation completed/);
        await closed;
        await client.close().catch(() => undefined);
      } finally {
        await (closed ?? controller.close());
      }
      const store = await openStore(
        where.databaseUrl ? { databaseUrl: where.databaseUrl } : { dataDir: where.dataDir! },
      );
      try {
        const rows = await store.listAudit({ limit: 1000 });
        assert.equal(rows.length, N, `${rows.length} rows of ${N} calls`);
        assert.equal(rows[0]!.tool, 'trigger-long-running-operation');
        assert.equal(rows[0]!.completed, true);
      } finally {
        await store.close();
      }
    });
  });
}
