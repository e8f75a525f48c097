// Issue 8, point 11: a Redis password rotation reaches Redis too. In-cluster Redis reads
// --requirepass when it starts, so its pod template carries the same revision as the
// controller's and both roll. ElastiCache's ROTATE keeps the old token valid next to the new
// one; the follow-up SET (a second up) leaves only the new one. The runbook says both.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ofType, runStack, stackConfig, type StackRun } from './harness.ts';
import { k8sObject, stackRun, type Obj } from './runs.ts';

const REVISION = 'mcpfleet.dev/secrets-revision';

async function withDataStores(stack: 'local' | 'prod', change: (stores: Obj) => void) {
  const { config, secretKeys } = stackConfig(stack);
  const stores = JSON.parse(config['mcpfleet:dataStores']!) as Obj;
  change(stores);
  return runStack({
    stack,
    secretKeys,
    config: { ...config, 'mcpfleet:dataStores': JSON.stringify(stores) },
  });
}

const revisionOf = (run: StackRun, kind: string, name: string) =>
  (k8sObject(run, kind, name).inputs.spec as Obj).template.metadata.annotations[REVISION] as string;

describe('issue 8.11: Redis password rotation', function () {
  this.timeout(60_000);

  it('in-cluster: a rotated Redis password restarts Redis and the controller, not PostgreSQL', async () => {
    const before = await stackRun('local');
    const after = await withDataStores('local', (stores) => (stores.redis.tokenRotation += 1));
    const redis = (run: StackRun) =>
      revisionOf(run, 'kubernetes:apps/v1:StatefulSet', 'mcpfleet-redis');
    const controller = (run: StackRun) =>
      revisionOf(run, 'kubernetes:apps/v1:Deployment', 'mcpfleet-controller');
    assert.notEqual(redis(after), redis(before));
    assert.notEqual(controller(after), controller(before));
    assert.ok(controller(after).endsWith(redis(after)), 'one revision for both');
    const postgres = (run: StackRun) =>
      (k8sObject(run, 'kubernetes:apps/v1:StatefulSet', 'mcpfleet-postgres').inputs.spec as Obj)
        .template.metadata.annotations?.[REVISION];
    assert.equal(postgres(after), postgres(before));
  });

  it('ElastiCache: ROTATE by default, SET for the follow-up', async () => {
    const [rotate] = ofType(
      await stackRun('prod'),
      'aws:elasticache/replicationGroup:ReplicationGroup',
    );
    assert.equal(rotate!.inputs.authTokenUpdateStrategy, 'ROTATE');
    const set = await withDataStores(
      'prod',
      (stores) => (stores.redis.tokenUpdateStrategy = 'SET'),
    );
    const [group] = ofType(set, 'aws:elasticache/replicationGroup:ReplicationGroup');
    assert.equal(group!.inputs.authTokenUpdateStrategy, 'SET');
    assert.equal(
      group!.inputs.authToken,
      rotate!.inputs.authToken,
      'the same token, the old one revoked',
    );
  });

  it('the rotation runbook covers Redis: both restarts, and the SET follow-up', () => {
    const runbook = readFileSync('docs/runbooks/rotating-database-password.md', 'utf8');
    assert.match(
      runbook,
      /pulumi config set --path 'mcpfleet:dataStores\.redis\.tokenUpdateStrategy' SET/,
    );
    assert.match(runbook, /rollout status sts\/mcpfleet-redis/);
  });
});
