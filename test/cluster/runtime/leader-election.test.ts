// Leader election on a real kube-apiserver: one leader among three candidates, a successor
// within the lease duration when the leader dies without releasing, at once when it releases,
// and a leader cut off from the apiserver stops leading by the clock (renew deadline).
import assert from 'node:assert/strict';
import {
  CoordinationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { LeaderElector } from '../../../controller/runtime/kubernetes/leader-election.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { waitFor } from '../../controller/support/processes.ts';
import { sharedControlPlane } from '../support/shared-control-plane.ts';

const TIMINGS = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };

describe('leader election on a Lease (real kube-apiserver)', function () {
  this.timeout(120_000);
  let kubeConfig: KubeConfig;
  const namespace = `leader-${Date.now().toString(36)}`;
  const electors: LeaderElector[] = [];

  before(async function () {
    this.timeout(60 * 60_000); // a first run on this machine builds the control plane
    const plane = await sharedControlPlane();
    kubeConfig = plane.kubeConfig();
    await kubeConfig
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
  });

  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
  });

  const candidate = (identity: string, leaseName: string, config = kubeConfig): LeaderElector => {
    const elector = new LeaderElector({
      kubeConfig: config,
      namespace,
      leaseName,
      identity,
      logger: silentLogger(),
      ...TIMINGS,
    });
    electors.push(elector);
    return elector;
  };

  const leaders = (list: LeaderElector[]) => list.filter((e) => e.isLeader());

  it('elects exactly one of three candidates and records it in the Lease', async () => {
    const list = ['a', 'b', 'c'].map((id) => candidate(id, 'one-of-three'));
    list.forEach((e) => e.start());
    await waitFor(() => leaders(list).length === 1, 10_000, 'a leader');
    // It stays exactly one over several renew periods.
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.equal(leaders(list).length, 1);
    }
    const lease = await kubeConfig
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'one-of-three', namespace });
    assert.equal(lease.spec?.holderIdentity, leaders(list)[0]!.identity);
    assert.equal(lease.spec?.leaseDurationSeconds, 3);
  });

  it('hands over at once when the leader stops and releases', async () => {
    const [a, b] = [candidate('a', 'release'), candidate('b', 'release')];
    a.start();
    await waitFor(() => a.isLeader(), 10_000, 'a leads');
    b.start();
    const stoppedAt = Date.now();
    await a.stop();
    await waitFor(() => b.isLeader(), 5_000, 'b takes over');
    // Well inside the lease duration: a released lease need not be waited out.
    assert.ok(Date.now() - stoppedAt < TIMINGS.leaseDurationMs, `${Date.now() - stoppedAt} ms`);
  });

  it('replaces a leader that vanished without releasing, after the lease duration', async () => {
    // A leader whose renewals start failing is, seen from the apiserver, a dead one; it must
    // stop leading within the renew deadline by its own clock. Its permission is taken away.
    const plane = await sharedControlPlane();
    const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'lease-holder' },
        rules: [
          {
            apiGroups: ['coordination.k8s.io'],
            resources: ['leases'],
            verbs: ['create', 'get', 'update'],
          },
        ],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'doomed' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lease-holder' },
        subjects: [{ kind: 'User', name: 'doomed-leader', apiGroup: 'rbac.authorization.k8s.io' }],
      },
    });
    const doomed = candidate('doomed', 'vanish', plane.userKubeConfig('doomed-leader'));
    doomed.start();
    await waitFor(() => doomed.isLeader(), 10_000, 'doomed leads');
    await rbac.deleteNamespacedRoleBinding({ name: 'doomed', namespace });
    const cutAt = Date.now();
    const successor = candidate('successor', 'vanish');
    successor.start();
    await waitFor(() => !doomed.isLeader(), 3 * TIMINGS.renewDeadlineMs, 'doomed steps down');
    const steppedDownMs = Date.now() - cutAt;
    await waitFor(() => successor.isLeader(), 5 * TIMINGS.leaseDurationMs, 'successor leads');
    const tookOverMs = Date.now() - cutAt;
    // Never two leaders: the old one had stepped down before the lease it held ran out.
    assert.ok(
      steppedDownMs <= tookOverMs,
      `stepped down ${steppedDownMs} ms, took over ${tookOverMs} ms`,
    );
    // The successor waited the observed lease out (less at most one retry period it had already seen).
    assert.ok(tookOverMs >= TIMINGS.leaseDurationMs - TIMINGS.retryPeriodMs, `${tookOverMs} ms`);
  });

  it('refuses timings that break leaseDuration > renewDeadline > 1.2 × retryPeriod', () => {
    assert.throws(
      () =>
        new LeaderElector({
          kubeConfig,
          namespace,
          leaseName: 'x',
          identity: 'x',
          logger: silentLogger(),
          leaseDurationMs: 2000,
          renewDeadlineMs: 2000,
          retryPeriodMs: 500,
        }),
      /leaseDuration > renewDeadline > 1.2 × retryPeriod/,
    );
  });
});
