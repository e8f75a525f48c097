// A server with `storage` keeps its files across sleep (issue 8.13): the real memory server from
// the registry, run by the local runtime, writes its knowledge graph under $(MCPFLEET_DATA_DIR);
// put to sleep (its process gone) and woken again, it still knows what it was told.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadSpecs } from '../../infra/registry.ts';
import type { WorkloadSpec } from '../../registry/catalog/spec.ts';
import { SERVER_DATA_ROOT_VARIABLE } from '../../controller/runtime/launch-plan.ts';
import { startTestFleet, type TestFleet } from '../controller/fleet/harness.ts';
import { startGateway, type RunningGateway } from '../controller/gateway/start-gateway.ts';

describe('a server with storage keeps its files across sleep (the memory server)', function () {
  this.timeout(60_000);
  let root: string;
  let t: TestFleet;
  let gateway: RunningGateway;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'mcpfleet-storage-'));
    const memory = (await loadSpecs('registry/servers')).find(
      (s) => s.slug === 'memory',
    ) as WorkloadSpec;
    t = await startTestFleet([memory], {
      runtimeOptions: { environment: { ...process.env, [SERVER_DATA_ROOT_VARIABLE]: root } },
    });
    gateway = await startGateway(t.fleet);
  });
  after(async () => {
    await gateway?.close();
    await t?.fleet.stop();
    await rm(root, { recursive: true, force: true });
  });

  async function connect(): Promise<Client> {
    const client = new Client({ name: 'storage-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.mcpUrl('memory'))));
    return client;
  }

  it('writes under its data folder, and reads it back after a sleep', async () => {
    const before = await connect();
    await before.callTool({
      name: 'create_entities',
      arguments: {
        entities: [{ name: 'mcpfleet', entityType: 'project', observations: ['survives sleep'] }],
      },
    });
    await before.close();
    const file = path.join(root, 'memory', 'memory.jsonl');
    assert.ok(existsSync(file), 'the graph is in the server folder');
    assert.match(readFileSync(file, 'utf8'), /survives sleep/);

    await t.fleet.sleep('memory');
    await t.waitForState('memory', 'asleep');

    const after = await connect();
    const graph = await after.callTool({ name: 'read_graph', arguments: {} });
    await after.close();
    assert.match(JSON.stringify(graph.content), /survives sleep/);
  });
});
