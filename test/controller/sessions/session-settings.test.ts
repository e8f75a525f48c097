// The session limits a server.json sets, from `registry check` to what the controller applies:
// sessions.maxPerClient and sessions.idleTimeout compile into the spec, a bad value is a
// located problem, and absent values get the documented defaults (a quarter of the capacity,
// 30 minutes); the bridge's process cap follows the capacity.
import assert from 'node:assert/strict';
import { checkServerJson, type WorkloadSpec } from '../../../registry/catalog/index.ts';
import { bridgeChildCap, sessionLimitsOf } from '../../../controller/sessions/session-limits.ts';
import { serverJson, withSettings } from '../../registry/temp-registry.ts';

function check(settings: Record<string, unknown>) {
  const doc = withSettings(settings, serverJson());
  return checkServerJson(Buffer.from(JSON.stringify(doc, null, 2)), 'demo/server.json', 'demo');
}

describe('session settings in _meta (issue 12)', function () {
  it('compiles sessions.maxPerClient and sessions.idleTimeout, and the controller applies them', function () {
    const result = check({
      scaling: { maxReplicas: 1, sessionsPerReplica: 2 },
      sessions: { maxPerClient: 2, idleTimeout: '90s' },
    });
    assert.deepEqual(result.problems, []);
    const spec = result.spec as WorkloadSpec;
    assert.deepEqual(spec.sessions, { resume: true, maxPerClient: 2, idleTimeoutMs: 90_000 });
    assert.deepEqual(sessionLimitsOf(spec), { capacity: 2, perClient: 2, idleTimeoutMs: 90_000 });
    assert.equal(bridgeChildCap(spec), 4, 'two sessions, the health check and the spare');
  });

  it('defaults: a quarter of maxReplicas × sessionsPerReplica per client, 30 min idle', function () {
    const spec = check({}).spec as WorkloadSpec;
    assert.deepEqual(sessionLimitsOf(spec), {
      capacity: 300,
      perClient: 75,
      idleTimeoutMs: 30 * 60_000,
    });
    const small = check({ scaling: { maxReplicas: 1, sessionsPerReplica: 2 } }).spec!;
    assert.equal(sessionLimitsOf(small).perClient, 1, 'at least one');
    const above = check({
      scaling: { maxReplicas: 1, sessionsPerReplica: 2 },
      sessions: { maxPerClient: 10 },
    }).spec!;
    assert.equal(sessionLimitsOf(above).perClient, 2, 'never more than the capacity');
  });

  it('refuses a bad limit or timeout with a located problem', function () {
    const result = check({ sessions: { maxPerClient: 0, idleTimeout: 'soon' } });
    const paths = result.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, [
      '_meta["dev.mcpfleet/v1"].sessions.idleTimeout',
      '_meta["dev.mcpfleet/v1"].sessions.maxPerClient',
    ]);
    assert.ok(result.problems.every((p) => p.line !== undefined));
  });
});
