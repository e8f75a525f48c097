// Issue 8, point 1: pulumi-kubernetes waits (10 minutes, then fails the up) for a Service with a
// selector until it has a ready endpoint. A server that starts asleep has none until a client
// wakes it, and every version bump updates its Service (the version label), so its Service must
// skip the await; a Service whose pods run from the start keeps it, so a selector that matches
// nothing still fails the up.
import assert from 'node:assert/strict';
import { workloadName } from '../../registry/catalog/workload-names.ts';
import type { WorkloadSpec } from '../../registry/catalog/spec.ts';
import { SKIP_AWAIT } from '../../infra/manifests/server.ts';
import { ofType, type StackRun } from './harness.ts';
import { starterSpecs } from './fixtures.ts';
import { stackRun, type Obj } from './runs.ts';

const SERVICE = 'kubernetes:core/v1:Service';

describe('issue 8.1: Services that have no endpoints do not hold up pulumi up', function () {
  this.timeout(60_000);
  let workloads: WorkloadSpec[];
  before(async () => {
    workloads = (await starterSpecs()).filter((s): s is WorkloadSpec => s.kind === 'workload');
    assert.ok(workloads.some((s) => s.scaling.minReplicas === 0));
    assert.ok(
      workloads.some((s) => s.scaling.minReplicas > 0),
      'github always runs',
    );
  });

  for (const stack of ['local', 'dev', 'prod'] as const) {
    it(`${stack}: skips the endpoint await exactly for servers that start asleep`, async () => {
      const run: StackRun = await stackRun(stack);
      const services = ofType(run, SERVICE);
      for (const spec of workloads) {
        const service = services.find(
          (s) => (s.inputs.metadata as Obj).name === workloadName(spec.slug),
        )!;
        const metadata = service.inputs.metadata as Obj;
        assert.ok(metadata.labels['app.kubernetes.io/version'], 'a version bump updates it');
        assert.equal(
          metadata.annotations[SKIP_AWAIT],
          spec.scaling.minReplicas === 0 ? 'true' : undefined,
          `${spec.slug} (minReplicas ${spec.scaling.minReplicas})`,
        );
      }
      // The controller and the data stores have pods from the start: their await stays.
      const others = services.filter(
        (s) => !workloads.some((w) => workloadName(w.slug) === (s.inputs.metadata as Obj).name),
      );
      assert.ok(others.length >= 1);
      for (const service of others)
        assert.equal((service.inputs.metadata as Obj).annotations?.[SKIP_AWAIT], undefined);
    });
  }
});
