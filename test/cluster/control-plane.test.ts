// The test control plane is a real cluster: etcd, kube-apiserver with RBAC and PodSecurity,
// kube-controller-manager and kube-scheduler, built from the pinned sources on first use.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  AppsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  VersionApi,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './control-plane/control-plane.ts';
import { waitFor } from '../controller/support/processes.ts';

/** The status code and the Status message of a failed API call. */
async function apiError(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (error) {
    const { code, body } = error as { code?: number; body?: unknown };
    let message = String(body);
    try {
      message = (JSON.parse(String(body)) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the raw body
    }
    return { code: code ?? 0, message };
  }
  throw new Error('expected the API call to fail');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const pod = (name: string, spec: Partial<V1Pod['spec']> = {}): V1Pod => ({
  metadata: { name },
  spec: { containers: [{ name: 'main', image: 'registry.invalid/app:1' }], ...spec },
});

const deployment = (name: string, podSpec: Partial<V1Pod['spec']> = {}): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'main', image: 'registry.invalid/app:1' }], ...podSpec },
    },
  },
});

describe('test control plane (etcd, kube-apiserver, controller-manager, scheduler)', function () {
  let plane: ControlPlane;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let startedAt = 0;
  let namespaceCount = 0;

  /** A fresh namespace (its `default` ServiceAccount is there: pods can be created at once). */
  async function namespace(labels: Record<string, string> = {}): Promise<string> {
    const name = `cp-test-${process.pid}-${++namespaceCount}`;
    await core.createNamespace({ body: { metadata: { name, labels } } });
    await waitFor(
      () =>
        core.readNamespacedServiceAccount({ name: 'default', namespace: name }).then(
          () => true,
          () => false,
        ),
      10_000,
      `ServiceAccount ${name}/default`,
    );
    return name;
  }

  before(async function () {
    // The first run on a machine builds the binaries from source.
    this.timeout(60 * 60_000);
    startedAt = Date.now();
    plane = await startControlPlane();
    kc = plane.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
  });

  after(async function () {
    this.timeout(60_000);
    await plane?.stop();
  });

  this.timeout(60_000);

  it('serves the pinned Kubernetes version, with the default namespace', async () => {
    process.stderr.write(`      (control plane up in ${Date.now() - startedAt} ms)\n`);
    const version = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.gitVersion, plane.versions.kubernetes);
    assert.match(plane.server, /^https:\/\/10\.244\.0\.1:\d+$/);
    const ns = await core.readNamespace({ name: 'default' });
    assert.equal(ns.status?.phase, 'Active');
  });

  it('rejects a privileged pod in a namespace that enforces the restricted PodSecurity level', async () => {
    const ns = await namespace({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    const { code, message } = await apiError(
      core.createNamespacedPod({ namespace: ns, body: pod('host-network', { hostNetwork: true }) }),
    );
    assert.equal(code, 403);
    assert.match(message, /violates PodSecurity "restricted/);
    assert.match(message, /hostNetwork/);
  });

  it('refuses privileged containers everywhere (--allow-privileged=false)', async () => {
    const ns = await namespace();
    const body = pod('privileged');
    body.spec!.containers[0]!.securityContext = { privileged: true };
    const { code, message } = await apiError(core.createNamespacedPod({ namespace: ns, body }));
    assert.equal(code, 422);
    assert.match(message, /privileged.*disallowed by cluster policy/);
  });

  it('runs the controllers: a Deployment gets a ReplicaSet and a Pod with a service-account token volume', async () => {
    const ns = await namespace();
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web') });
    let pods: V1Pod[] = [];
    await waitFor(
      async () => {
        pods = (await core.listNamespacedPod({ namespace: ns })).items;
        return pods.length === 1;
      },
      20_000,
      'a pod of Deployment web',
    );
    const replicaSets = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
    assert.equal(replicaSets.length, 1);
    assert.equal(replicaSets[0]?.metadata?.ownerReferences?.[0]?.name, 'web');
    const [created] = pods;
    assert.equal(created?.metadata?.ownerReferences?.[0]?.name, replicaSets[0]?.metadata?.name);
    assert.ok(
      created?.spec?.volumes?.some((v) => v.name.startsWith('kube-api-access-') && v.projected),
      'ServiceAccount admission injects the kube-api-access projected volume',
    );
    assert.equal(created?.spec?.nodeName, undefined, 'no node fits, so it stays unscheduled');
    assert.equal(created?.status?.phase, 'Pending');
  });

  it('makes EndpointSlices, collects garbage and finishes deleting namespaces', async function () {
    this.timeout(90_000);
    const ns = await namespace();
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('gc') });
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'gc' }, spec: { selector: { app: 'gc' }, ports: [{ port: 80 }] } },
    });
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    await waitFor(
      async () =>
        (
          await discovery.listNamespacedEndpointSlice({
            namespace: ns,
            labelSelector: 'kubernetes.io/service-name=gc',
          })
        ).items.length === 1,
      20_000,
      'the EndpointSlice of Service gc',
    );
    await waitFor(
      async () => (await apps.listNamespacedReplicaSet({ namespace: ns })).items.length === 1,
      20_000,
      'the ReplicaSet of Deployment gc',
    );
    await apps.deleteNamespacedDeployment({
      name: 'gc',
      namespace: ns,
      propagationPolicy: 'Background',
    });
    await waitFor(
      async () => (await apps.listNamespacedReplicaSet({ namespace: ns })).items.length === 0,
      30_000,
      'the garbage collector to delete the ReplicaSet',
    );
    await core.deleteNamespace({ name: ns });
    await waitFor(
      () =>
        core.readNamespace({ name: ns }).then(
          () => false,
          (error: { code?: number }) => error.code === 404,
        ),
      60_000,
      `namespace ${ns} to be gone`,
    );
  });

  it('runs the scheduler: a pod selecting arm64 is bound to the ready arm64 node', async () => {
    const ns = await namespace();
    const node = `fake-arm64-${process.pid}`;
    // Tainted so that no other test's pod lands on a node without a kubelet.
    const taint = { key: 'mcpfleet.dev/fake-node', value: 'true', effect: 'NoSchedule' };
    await core.createNode({
      body: {
        metadata: {
          name: node,
          labels: { 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux' },
        },
        spec: { taints: [taint] },
      },
    });
    try {
      await core.patchNodeStatus(
        {
          name: node,
          body: {
            status: {
              conditions: [
                {
                  type: 'Ready',
                  status: 'True',
                  reason: 'KubeletReady',
                  lastHeartbeatTime: new Date(),
                  lastTransitionTime: new Date(),
                },
              ],
              allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
              capacity: { cpu: '4', memory: '8Gi', pods: '110' },
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await core.createNamespacedPod({
        namespace: ns,
        body: pod('arm', {
          nodeSelector: { 'kubernetes.io/arch': 'arm64' },
          tolerations: [{ ...taint, operator: 'Equal' }],
        }),
      });
      await waitFor(
        async () =>
          (await core.readNamespacedPod({ name: 'arm', namespace: ns })).spec?.nodeName === node,
        20_000,
        `pod arm bound to ${node}`,
      );
    } finally {
      await core.deleteNode({ name: node });
    }
  });

  it('authorizes with RBAC: an unbound user is refused, a SubjectAccessReview agrees, a binding allows', async () => {
    const ns = await namespace();
    const alice = plane.userKubeConfig('alice', ['mcpfleet:testers']).makeApiClient(CoreV1Api);
    const refused = await apiError(alice.listNamespacedPod({ namespace: ns }));
    assert.equal(refused.code, 403);
    assert.match(refused.message, /User "alice" cannot list resource "pods"/);

    const authz = kc.makeApiClient(AuthorizationV1Api);
    const review = (allowedFor: string) =>
      authz.createSubjectAccessReview({
        body: {
          spec: {
            user: allowedFor,
            groups: ['mcpfleet:testers'],
            resourceAttributes: { namespace: ns, verb: 'list', resource: 'pods' },
          },
        },
      });
    assert.equal((await review('alice')).status?.allowed, false);

    await kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'testers-view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'mcpfleet:testers' },
        ],
      },
    });
    assert.equal((await review('alice')).status?.allowed, true);
    assert.deepEqual((await alice.listNamespacedPod({ namespace: ns })).items, []);
  });

  it('authenticates a ServiceAccount token from the TokenRequest API', async () => {
    const ns = await namespace();
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'robot' } },
    });
    const sa = await plane.serviceAccountKubeConfig(ns, 'robot');
    const review = await sa
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:${ns}:robot`);
    assert.ok(review.status?.userInfo?.groups?.includes('system:serviceaccounts'));
    // Authenticated, but RBAC grants a ServiceAccount nothing by default.
    const refused = await apiError(
      sa.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns }),
    );
    assert.equal(refused.code, 403);
  });

  it("patches a Deployment's scale subresource and the ReplicaSet follows", async () => {
    const ns = await namespace();
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('scaled') });
    const scale = await apps.patchNamespacedDeploymentScale(
      { name: 'scaled', namespace: ns, body: { spec: { replicas: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal(scale.spec?.replicas, 3);
    const read = await apps.readNamespacedDeploymentScale({ name: 'scaled', namespace: ns });
    assert.equal(read.spec?.replicas, 3);
    await waitFor(
      async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 3,
      20_000,
      '3 pods of Deployment scaled',
    );
  });

  it('keeps its data across a control plane restart', async function () {
    this.timeout(120_000);
    const ns = await namespace();
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'kept' }, data: { answer: '42' } },
    });
    const before = plane.pids;
    const started = Date.now();
    await plane.restart();
    process.stderr.write(`      (control plane restarted in ${Date.now() - started} ms)\n`);
    assert.equal(plane.pids.length, before.length);
    assert.notDeepEqual(plane.pids, before, 'kube-apiserver has a new PID');
    const kept = await core.readNamespacedConfigMap({ name: 'kept', namespace: ns });
    assert.equal(kept.data?.answer, '42');
    // The restarted controller-manager creates pods again.
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('after-restart') });
    await waitFor(
      async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 1,
      30_000,
      'a pod of Deployment after-restart',
    );
  });

  it('stop() ends every process and removes its work folder, keeping the logs', async () => {
    const pids = plane.pids;
    assert.equal(pids.length, 4);
    await plane.stop();
    assert.deepEqual(
      pids.filter((pid) => alive(pid)),
      [],
    );
    assert.equal(existsSync(plane.adminKubeconfigPath), false);
    assert.ok(existsSync(`${plane.logsDir}/kube-apiserver.stderr.log`));
  });
});
