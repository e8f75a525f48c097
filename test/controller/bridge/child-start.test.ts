// The bridge tells a failed start from one session's crash: a child that dies before it
// answered initialize did not start (the fleet counts it towards `failed`); one that dies
// after ends its own session and nothing else. Real bridge, real stdio children.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  startStdioBridge,
  type ChildRole,
  type StdioBridge,
} from '../../../controller/bridge/stdio-bridge.ts';
import type { ChildExit } from '../../../controller/bridge/stdio-child.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { FIXTURE_SERVER, waitFor } from '../support/processes.ts';

interface Exit {
  exit: ChildExit;
  role: ChildRole;
  started: boolean;
}

describe('stdio bridge child starts', function () {
  this.timeout(20_000);
  let bridge: StdioBridge | undefined;
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
    await bridge?.close();
    bridge = undefined;
  });

  async function start(mode: string): Promise<{ exits: Exit[]; starts: () => number }> {
    const exits: Exit[] = [];
    let starts = 0;
    bridge = await startStdioBridge({
      logger: silentLogger(),
      command: { command: process.execPath, args: [FIXTURE_SERVER], env: { FIXTURE_MODE: mode } },
      onChildExit: (exit, role, started) => exits.push({ exit, role, started }),
      onChildStarted: () => starts++,
    });
    return { exits, starts: () => starts };
  }

  async function connect(): Promise<Client> {
    const client = new Client({ name: 'child-start-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(bridge!.url)));
    clients.push(client);
    return client;
  }

  it("reports a session's crash as started, and leaves the other session alone", async () => {
    const { exits, starts } = await start('normal');
    const survivor = await connect();
    const victim = await connect();
    assert.equal(starts(), 2);
    await assert.rejects(victim.callTool({ name: 'crash', arguments: {} }));
    await waitFor(() => exits.some((e) => !e.exit.expected), 5000, 'the crash to be reported');
    const crash = exits.find((e) => !e.exit.expected)!;
    assert.equal(crash.started, true);
    assert.equal(crash.role, 'session');
    assert.equal(crash.exit.code, 3);
    const result = await survivor.callTool({ name: 'echo', arguments: { alive: true } });
    assert.match(JSON.stringify(result.content), /alive/);
  });

  it('reports a child that dies before answering initialize as not started', async () => {
    const { exits, starts } = await start('crash-at-start');
    await waitFor(() => exits.length > 0, 5000, 'the spare to die');
    assert.deepEqual(
      exits.map((e) => [e.role, e.started, e.exit.expected]),
      [['spare', false, false]],
    );
    assert.equal(starts(), 0);
  });
});
