// A memory-aware ceiling on processes: through a real controller, while the memory left is
// below MCPFLEET_MIN_FREE_MEMORY no new server process starts — an initialize that would need
// one gets 503 with Retry-After and a JSON-RPC error saying so, and the sessions that run
// keep working; with memory above the floor again, the next initialize gets its process.
import assert from 'node:assert/strict';
import { MIN_FREE_MEMORY_VARIABLE } from '../../../controller/bridge/memory-floor.ts';
import { closeSharedStore, startTestFleet, type TestFleet } from '../fleet/harness.ts';
import { sessionStateServer } from '../fleet/specs.ts';
import { startGateway, type RunningGateway } from '../gateway/start-gateway.ts';
import { clientAt, type ClientAt } from './client-at.ts';

describe('no new server process below the memory floor (issue 12)', function () {
  this.timeout(60_000);
  let t: TestFleet;
  let gateway: RunningGateway;
  let client: ClientAt;
  const previous = process.env[MIN_FREE_MEMORY_VARIABLE];

  before(async function () {
    delete process.env[MIN_FREE_MEMORY_VARIABLE];
    // No warm spare: each session needs a process started for it.
    t = await startTestFleet([sessionStateServer('memory-floor', { warmSpare: false })], {
      drainGraceMs: 50,
    });
    gateway = await startGateway(t.fleet);
    client = clientAt('127.0.0.31');
  });

  after(async function () {
    if (previous === undefined) delete process.env[MIN_FREE_MEMORY_VARIABLE];
    else process.env[MIN_FREE_MEMORY_VARIABLE] = previous;
    await client?.close();
    await gateway?.close();
    await t?.fleet.stop();
    await closeSharedStore();
  });

  it('refuses the initialize that needs a process with 503, and serves the sessions it has', async function () {
    const url = gateway.mcpUrl('memory-floor');
    const running = await client.initialize(url);
    assert.equal(running.status, 200);
    // More than any machine has: every process start is below the floor now.
    process.env[MIN_FREE_MEMORY_VARIABLE] = '1000000GiB';
    const refused = await client.initialize(url);
    assert.equal(refused.status, 503, JSON.stringify(refused.message));
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.match(
      refused.message.error!.message,
      /not enough free memory .*MCPFLEET_MIN_FREE_MEMORY/,
    );
    assert.equal((await client.request(url, running.sessionId, 'tools/list')).status, 200);
    delete process.env[MIN_FREE_MEMORY_VARIABLE];
    assert.equal((await client.initialize(url)).status, 200);
  });
});
