// The apiserver restarts under a running controller: every watch drops, requests are refused
// for a few seconds. The pod informer reconnects with back-off and resumes (relisting if its
// resourceVersion is gone); a wake after the restart works, and /readyz says ready again.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RunningController } from '../../../controller/start.ts';
import { waitFor } from '../../controller/support/processes.ts';
import { startScenario, type Scenario } from './scenario.ts';

describe('Kubernetes runtime: the apiserver restarts under a running controller', function () {
  this.timeout(120_000);
  let scenario: Scenario;
  let controller: RunningController;

  before(async function () {
    this.timeout(60 * 60_000);
    scenario = await startScenario({
      name: 'restart',
      nodes: [{ arch: 'amd64', podCIDR: '10.244.51.0/24' }],
    });
    controller = await scenario.controller('controller-restart');
  });

  after(async function () {
    this.timeout(60_000);
    await controller?.close();
    await scenario?.stop();
  });

  const readyz = async () =>
    ((await (await fetch(`${controller.url}/readyz`)).json()) as { status: string }).status;

  it('resumes its watch and wakes a server after the restart', async () => {
    await waitFor(async () => (await readyz()) === 'ready', 15_000, 'ready before the restart');
    await scenario.plane.restart();
    await waitFor(async () => (await readyz()) === 'ready', 60_000, 'ready after the restart');
    const client = new Client({ name: 'after-restart', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${controller.url}/servers/everything/mcp`)),
    );
    const result = await client.callTool({ name: 'echo', arguments: { message: 'resumed' } });
    assert.match(JSON.stringify(result.content), /resumed/);
    await client.close();
  });
});
