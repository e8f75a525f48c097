// A session replayed on a bridge that is on its way out (its pod deleted a moment ago, which this
// controller's view still lists) must read as "that backend is leaving, try the next", not as a
// failed server: the replay error says so, and the fleet then looks again instead of answering
// the client 502. Here the bridge closes while the replayed initialize waits on its child.
import assert from 'node:assert/strict';
import { startStdioBridge } from '../../../controller/bridge/stdio-bridge.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { ReplayError, replaySession } from '../../../controller/sessions/session-replay.ts';
import type { SessionRecord } from '../../../controller/sessions/session-record.ts';
import { FIXTURE_SERVER, waitFor } from '../support/processes.ts';

const RECORD = {
  initialize: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'replay-test', version: '1.0.0' },
  },
  subscriptions: [],
} as unknown as SessionRecord;

describe('a session replayed on a bridge that is leaving', function () {
  this.timeout(20_000);

  it('is told apart from a server that failed', async () => {
    // A child that never answers: the replayed initialize is still waiting when the bridge closes.
    const bridge = await startStdioBridge({
      logger: silentLogger(),
      command: {
        command: process.execPath,
        args: [FIXTURE_SERVER],
        env: { FIXTURE_MODE: 'silent' },
      },
    });
    const target = { url: bridge.url, headers: {}, replicaId: 'leaving-0' };
    const outcome = replaySession(target, RECORD, AbortSignal.timeout(10_000), silentLogger()).then(
      () => assert.fail('the replay cannot succeed'),
      (e: unknown) => e,
    );
    await waitFor(() => bridge.sessionCount() === 1, 5_000, 'the replay to reach the bridge');
    await bridge.close();
    const err = await outcome;
    assert.ok(err instanceof ReplayError, String(err));
    assert.equal(err.backendLeaving, true, err.message);
  });

  it('a server that refuses the replay is not taken for a leaving bridge', async () => {
    const bridge = await startStdioBridge({
      logger: silentLogger(),
      command: {
        command: process.execPath,
        args: [FIXTURE_SERVER],
        env: { FIXTURE_MODE: 'crash-at-start' },
      },
      warmSpares: 0,
    });
    try {
      const target = { url: bridge.url, headers: {}, replicaId: 'failing-0' };
      const err = await replaySession(
        target,
        RECORD,
        AbortSignal.timeout(10_000),
        silentLogger(),
      ).then(
        () => assert.fail('the replay cannot succeed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ReplayError, String(err));
      assert.equal(err.backendLeaving, false, err.message);
    } finally {
      await bridge.close();
    }
  });
});
