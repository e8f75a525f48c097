// The process kubelet on a real control plane: it registers two Nodes (amd64, arm64) and runs
// the pods the real scheduler binds to them as processes in image layouts — network namespaces
// on the pod bridge, volumes as files, probes, restarts, graceful deletion — while the real
// kube-controller-manager does Deployments, ReplicaSets and EndpointSlices.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1Container,
  type V1Deployment,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { writeAtomically } from './kubelet/atomic-writer.ts';
import { CrashLoopBackoff, goDuration } from './kubelet/backoff.ts';
import { containerArgv, containerEnv, masterServiceEnv } from './kubelet/env.ts';
import { expand, mappingFor } from './kubelet/expansion.ts';
import { imageStarter } from './kubelet/image-starter.ts';
import { startProcessKubelet, type PodInfo, type ProcessKubelet } from './kubelet/index.ts';
import { createIpAllocator } from './kubelet/ipam.ts';
import { podPhase } from './kubelet/pod-status.ts';
import { divideQuantity } from './kubelet/quantity.ts';
import { sharedControlPlane } from './support/shared-control-plane.ts';

/** Polls `check` until it returns a value other than undefined/false, or fails after timeoutMs. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (lastError ? ` (last error: ${String(lastError)})` : ''),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ipToInt = (ip: string): number =>
  ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
const inCidr = (ip: string, cidr: string): boolean => {
  const [base, prefix] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(prefix));
  return Math.floor(ipToInt(ip) / size) === Math.floor(ipToInt(base) / size);
};
const netnsNames = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
const linkNames = (): string[] =>
  (
    JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as {
      ifname: string;
    }[]
  ).map((link) => link.ifname);

describe('process kubelet: the kubelet rules it follows', () => {
  it('expands $(VAR) like Kubernetes: defined names, $$ escapes, undefined and unterminated kept', () => {
    const vars = mappingFor(
      new Map([
        ['A', 'x'],
        ['B', '$(A)'],
      ]),
    );
    assert.equal(expand('$(A)-$(B)-$$(A)-$(C)-$A-$(A', vars), 'x-$(A)-$(A)-$(C)-$A-$(A');
    assert.equal(expand('$$$$', vars), '$$');
    assert.equal(expand('tail$', vars), 'tail$');
  });

  it('builds the environment in kubelet order: envFrom, env (expanded against earlier ones), service vars', async () => {
    const pod = {
      apiVersion: 'v1' as const,
      kind: 'Pod' as const,
      metadata: { name: 'p', namespace: 'ns', uid: 'u', labels: { app: 'a' } },
      spec: { nodeName: 'n1', serviceAccountName: 'sa', containers: [] },
    };
    const source = {
      configMap: async (_ns: string, name: string) =>
        name === 'cm'
          ? {
              apiVersion: 'v1' as const,
              kind: 'ConfigMap' as const,
              data: { K: 'from-cm', Z: 'z' },
            }
          : undefined,
      secret: async (_ns: string, name: string) =>
        name === 's'
          ? {
              apiVersion: 'v1' as const,
              kind: 'Secret' as const,
              data: { S: Buffer.from('sec').toString('base64') },
            }
          : undefined,
    };
    const env = await containerEnv(
      {
        name: 'c',
        envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'P_' }, { secretRef: { name: 's' } }],
        env: [
          { name: 'ONE', value: '1' },
          { name: 'TWO', value: '$(ONE)+$(P_K)+$$(ONE)+$(KUBERNETES_SERVICE_PORT)' },
          { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          {
            name: 'MISSING',
            valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } },
          },
          { name: 'KUBERNETES_SERVICE_HOST', value: 'overridden' },
        ],
      },
      { pod, podIP: '10.0.0.9', hostIP: '10.0.0.1', allocatable: {} },
      source,
      masterServiceEnv('10.244.0.1', 6443),
    );
    assert.equal(env.get('P_K'), 'from-cm');
    assert.equal(env.get('S'), 'sec');
    assert.equal(env.get('TWO'), '1+from-cm+$(ONE)+6443');
    assert.equal(env.get('NAME'), 'p');
    assert.equal(env.get('APP'), 'a');
    assert.equal(env.has('MISSING'), false);
    assert.equal(env.get('KUBERNETES_SERVICE_HOST'), 'overridden');
    assert.equal(env.get('KUBERNETES_PORT_6443_TCP_ADDR'), '10.244.0.1');
    const image = { entrypoint: ['/entry'], cmd: ['default'] };
    assert.deepEqual(containerArgv({ name: 'c', args: ['$(NAME)'] }, env, image), ['/entry', 'p']);
    assert.deepEqual(containerArgv({ name: 'c', command: ['run'] }, env, image), ['run']);
    assert.deepEqual(containerArgv({ name: 'c', args: [] }, env, image), ['/entry', 'default']);
  });

  it('backs off like kubelet: first restart at once, then the window, doubling to the cap', () => {
    const backoff = new CrashLoopBackoff({ initialMs: 10_000, maxMs: 40_000 });
    const delays: number[] = [];
    let t = 0;
    for (let i = 0; i < 5; i++) {
      const delay = backoff.delayMs(t, t);
      delays.push(delay);
      t += delay;
      backoff.next(t, t);
    }
    assert.deepEqual(delays, [0, 10_000, 20_000, 40_000, 40_000]);
    assert.equal(backoff.delayMs(t + 100_000, t + 100_000), 0, 'reset after running 2x the cap');
    assert.equal(goDuration(300_000), '5m0s');
    assert.equal(goDuration(20_000), '20s');
  });

  it('derives the pod phase like getPhase', () => {
    const pod = (restartPolicy: string): V1Pod => ({
      spec: { restartPolicy, initContainers: [{ name: 'i' }], containers: [{ name: 'c' }] },
    });
    const init = {
      name: 'i',
      image: '',
      imageID: '',
      ready: true,
      restartCount: 0,
      state: { terminated: { exitCode: 0 } },
    };
    const status = (state: object, lastState: object = {}) => [
      init,
      { name: 'c', image: '', imageID: '', ready: false, restartCount: 0, state, lastState },
    ];
    const terminated = (exitCode: number) => ({ terminated: { exitCode } });
    const phase = (policy: string, s: object[], terminal = false) =>
      podPhase(pod(policy) as never, s as never, terminal);
    assert.equal(phase('Always', status({ waiting: { reason: 'ContainerCreating' } })), 'Pending');
    assert.equal(phase('Always', status({ running: {} })), 'Running');
    assert.equal(phase('Always', status({ waiting: {} }, terminated(1))), 'Running');
    assert.equal(phase('Always', status(terminated(143)), true), 'Failed');
    assert.equal(phase('OnFailure', status(terminated(0))), 'Succeeded');
    assert.equal(phase('Never', status(terminated(2))), 'Failed');
    assert.equal(phase('Never', [{ ...init, state: terminated(1) }]), 'Failed');
  });

  it('writes volumes like the atomic writer: ..data swapped to a new timestamped dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    try {
      await writeAtomically(
        dir,
        new Map([
          ['a.txt', { data: 'one', mode: 0o644 }],
          ['sub/b', { data: 'b', mode: 0o600 }],
        ]),
      );
      const first = readlinkSync(join(dir, '..data'));
      assert.match(first, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./);
      assert.equal(readlinkSync(join(dir, 'a.txt')), '..data/a.txt');
      assert.equal(readFileSync(join(dir, 'sub/b'), 'utf8'), 'b');
      assert.equal(statSync(join(dir, 'sub/b')).mode & 0o777, 0o600);
      assert.equal(
        await writeAtomically(
          dir,
          new Map([
            ['a.txt', { data: 'one', mode: 0o644 }],
            ['sub/b', { data: 'b', mode: 0o600 }],
          ]),
        ),
        false,
      );
      await writeAtomically(dir, new Map([['a.txt', { data: 'two', mode: 0o644 }]]));
      const second = readlinkSync(join(dir, '..data'));
      assert.notEqual(second, first);
      assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'two');
      assert.throws(() => statSync(join(dir, 'sub')), 'a key that left the payload is removed');
      assert.throws(() => statSync(join(dir, first)), 'the old version is removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('allocates pod IPs inside the CIDR, skipping network, .1 and broadcast, not reusing at once', () => {
    const ipam = createIpAllocator('10.244.3.0/29');
    const ips = [1, 2, 3, 4, 5].map((i) => ipam.allocate(`p${i}`));
    assert.deepEqual(ips, ['10.244.3.2', '10.244.3.3', '10.244.3.4', '10.244.3.5', '10.244.3.6']);
    assert.throws(() => ipam.allocate('p6'), /exhausted/);
    ipam.release('10.244.3.3');
    assert.equal(ipam.allocate('p7'), '10.244.3.3');
    assert.equal(divideQuantity('1500m'), '2');
    assert.equal(divideQuantity('128Mi', '1Mi'), '128');
  });
});

/** A small HTTP server (Node) that shows the container what it is: env, files, identity. */
const SERVER = `
const http = require('http'), fs = require('fs');
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://pod');
  const reply = (value) => res.end(JSON.stringify(value));
  const file = url.searchParams.get('path');
  try {
    if (url.pathname === '/env')
      return reply({ env: process.env, uid: process.getuid(), gid: process.getgid(),
        groups: process.getgroups(), cwd: process.cwd(), argv: process.argv.slice(1) });
    if (url.pathname === '/file')
      return reply({ content: fs.readFileSync(file, 'utf8'), mode: fs.statSync(file).mode & 0o777 });
    if (url.pathname === '/readlink') return reply({ target: fs.readlinkSync(file) });
    if (url.pathname === '/write') { fs.writeFileSync(file, 'written'); return reply({ ok: true }); }
    if (url.pathname === '/whoami') {
      const https = require('https');
      const dir = '/var/run/secrets/kubernetes.io/serviceaccount/';
      const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
      const call = https.request({
        host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT,
        method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        ca: fs.readFileSync(dir + 'ca.crt'),
        headers: { authorization: 'Bearer ' + fs.readFileSync(dir + 'token', 'utf8'), 'content-type': 'application/json' },
      }, (r) => { let t = ''; r.on('data', (c) => (t += c)); r.on('end', () => res.end(t)); });
      call.on('error', (e) => { res.statusCode = 502; res.end(String(e)); });
      return call.end(body);
    }
    res.end('ok ' + process.env.HOSTNAME);
  } catch (e) { res.statusCode = 500; res.end(String(e)); }
});
process.on('SIGTERM', () => { console.log('SIGTERM received'); server.close(); process.exit(0); });
server.listen(8080, () => console.log('listening on 8080'));
`;

const IMAGE = 'node:22-bookworm-slim';

describe('process kubelet on a real control plane', function () {
  this.timeout(120_000);
  const namespace = `kubelet-${Date.now().toString(36)}`;
  const amd64 = { name: `${namespace}-amd64`, arch: 'amd64' as const, podCIDR: '10.244.21.0/24' };
  const arm64 = { name: `${namespace}-arm64`, arch: 'arm64' as const, podCIDR: '10.244.22.0/24' };
  const staleNetns = 'mcpf-0badf00d';
  let kubeConfig: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let kubelet: ProcessKubelet;
  let apiserverPort: number;
  let plane: Awaited<ReturnType<typeof sharedControlPlane>>;

  const podsOf = async (app: string): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
  const onePod = async (app: string): Promise<V1Pod | undefined> => {
    const pods = (await podsOf(app)).filter((p) => !p.metadata?.deletionTimestamp);
    return pods.length === 1 ? pods[0] : undefined;
  };
  const isReady = (pod: V1Pod | undefined): boolean =>
    pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const get = async (pod: V1Pod, path: string): Promise<{ status: number; body: string }> => {
    const response = await fetch(`http://${pod.status!.podIP}:8080${path}`, {
      signal: AbortSignal.timeout(5_000),
    });
    return { status: response.status, body: await response.text() };
  };
  const json = async <T>(pod: V1Pod, path: string): Promise<T> => {
    const { status, body } = await get(pod, path);
    assert.equal(status, 200, body);
    return JSON.parse(body) as T;
  };
  const deployment = (
    name: string,
    spec: Partial<V1PodSpec>,
    container: Partial<V1Container> = {},
  ): V1Deployment => ({
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, tier: 'test' }, annotations: { note: 'hello' } },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: 'server',
              image: IMAGE,
              command: ['node', '-e', SERVER],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
              ...container,
            },
          ],
          ...spec,
        },
      },
    },
  });
  const logsOf = (info: PodInfo | undefined): string =>
    (info?.containers ?? [])
      .map(
        (c) => `--- ${c.name} (${c.logPath}):\n${c.logPath ? readFileSync(c.logPath, 'utf8') : ''}`,
      )
      .join('\n');

  before(async function () {
    this.timeout(60 * 60_000); // a first run on this machine builds the control plane
    plane = await sharedControlPlane();
    kubeConfig = plane.kubeConfig();
    apiserverPort = Number(new URL(plane.server).port);
    core = kubeConfig.makeApiClient(CoreV1Api);
    apps = kubeConfig.makeApiClient(AppsV1Api);
    // A leftover of a crashed run: a sandbox namespace without a live owner.
    execFileSync('ip', ['netns', 'add', staleNetns]);
    kubelet = await startProcessKubelet({
      kubeConfig,
      nodes: [amd64, arm64],
      images: imageStarter(),
      backoff: { initialMs: 300, maxMs: 2_000 },
      leaseRenewMs: 2_000,
    });
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: 'settings' },
        data: { GREETING: 'hi', 'registry.json': '{"version":1}', MODE: 'test' },
      },
    });
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'creds' },
        stringData: { TOKEN: 's3cret', 'password.txt': 'hunter2' },
      },
    });
    // The default ServiceAccount appears shortly after the namespace; pods need it.
    await eventually(
      'the default ServiceAccount',
      async () =>
        (await core.readNamespacedServiceAccount({ namespace, name: 'default' })).metadata?.name,
    );
  });

  after(async function () {
    this.timeout(60_000);
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
    await kubelet?.stop({ deletePods: true });
    if (netnsNames().includes(staleNetns)) execFileSync('ip', ['netns', 'del', staleNetns]);
  });

  it('swept the stale sandbox namespace of a crashed run at start', () => {
    assert.equal(netnsNames().includes(staleNetns), false);
  });

  it('registers both nodes Ready, labelled by arch, with a lease it keeps renewing', async () => {
    for (const spec of [amd64, arm64]) {
      const node = await core.readNode({ name: spec.name });
      assert.equal(node.metadata?.labels?.['kubernetes.io/arch'], spec.arch);
      assert.equal(node.metadata?.labels?.['kubernetes.io/os'], 'linux');
      assert.equal(node.metadata?.labels?.['kubernetes.io/hostname'], spec.name);
      assert.equal(node.spec?.podCIDR, spec.podCIDR);
      assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
      assert.deepEqual(
        node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
        '10.244.0.1',
      );
      assert.equal(node.status?.allocatable?.pods, '110');
      assert.equal(node.status?.nodeInfo?.architecture, spec.arch);
      assert.deepEqual(node.spec?.taints ?? [], []);
    }
    const leases = kubeConfig.makeApiClient(CoordinationV1Api);
    const first = await leases.readNamespacedLease({
      namespace: 'kube-node-lease',
      name: amd64.name,
    });
    assert.equal(first.spec?.holderIdentity, amd64.name);
    await eventually('a lease renewal', async () => {
      const lease = await leases.readNamespacedLease({
        namespace: 'kube-node-lease',
        name: amd64.name,
      });
      return Date.parse(String(lease.spec?.renewTime)) > Date.parse(String(first.spec?.renewTime));
    });
  });

  let web: V1Pod;
  it('runs a Deployment pod: scheduled, Running, Ready, with an IP of its node, serving on podIP:8080', async () => {
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
    const created = Date.now();
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment(
        'web',
        {
          nodeSelector: { 'kubernetes.io/arch': 'amd64' },
          securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000 },
          volumes: [
            {
              name: 'config',
              configMap: {
                name: 'settings',
                items: [{ key: 'registry.json', path: 'registry.json' }],
                defaultMode: 0o640,
              },
            },
            { name: 'creds', secret: { secretName: 'creds', defaultMode: 0o400 } },
            { name: 'scratch', emptyDir: {} },
            { name: 'all-settings', configMap: { name: 'settings' } },
            {
              name: 'podinfo',
              downwardAPI: {
                items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }],
              },
            },
          ],
        },
        {
          workingDir: '/work',
          args: ['$(POD_NAME)', '$$(POD_NAME)', '$(NOT_DEFINED)'],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
            { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            {
              name: 'NOTE',
              valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } },
            },
            { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
            { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'creds', key: 'TOKEN' } } },
            {
              name: 'ABSENT',
              valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope', optional: true } },
            },
            { name: 'MESSAGE', value: '$(CM_GREETING) from $(POD_NAME), not $$(POD_NAME)' },
          ],
          envFrom: [
            { configMapRef: { name: 'settings' }, prefix: 'CM_' },
            { secretRef: { name: 'creds' } },
          ],
          volumeMounts: [
            { name: 'config', mountPath: '/etc/app', readOnly: true },
            { name: 'creds', mountPath: '/etc/creds', readOnly: true },
            { name: 'scratch', mountPath: '/scratch' },
            { name: 'all-settings', mountPath: '/etc/greeting', subPath: 'GREETING' },
            { name: 'podinfo', mountPath: '/etc/podinfo' },
          ],
        },
      ),
    });
    web = await eventually('the web pod Ready', async () => {
      const pod = await onePod('web');
      return isReady(pod) ? pod : undefined;
    });
    const readyAfter = Date.now() - created;
    console.log(`      (Deployment created → pod Ready in ${readyAfter} ms)`);
    const status = web.status!;
    assert.equal(web.spec?.nodeName, amd64.name);
    assert.equal(status.phase, 'Running');
    assert.ok(inCidr(status.podIP!, amd64.podCIDR), `${status.podIP} in ${amd64.podCIDR}`);
    assert.deepEqual(
      status.podIPs?.map((p) => p.ip),
      [status.podIP],
    );
    assert.equal(status.hostIP, '10.244.0.1');
    assert.ok(status.startTime);
    const conditions = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c.status]));
    assert.deepEqual(conditions, {
      PodReadyToStartContainers: 'True',
      Initialized: 'True',
      Ready: 'True',
      ContainersReady: 'True',
      PodScheduled: 'True',
    });
    assert.equal(status.conditions?.find((c) => c.type === 'Ready')?.reason, undefined);
    const container = status.containerStatuses?.[0];
    assert.equal(container?.name, 'server');
    assert.equal(container?.ready, true);
    assert.equal(container?.started, true);
    assert.equal(container?.restartCount, 0);
    assert.equal(container?.image, IMAGE);
    assert.match(container?.imageID ?? '', /@sha256:[0-9a-f]{64}$/);
    assert.match(container?.containerID ?? '', /^mcpfleet:\/\/[0-9a-f]{64}$/);
    assert.ok(container?.state?.running?.startedAt);

    const root = await get(web, '/');
    assert.equal(root.status, 200);
    assert.equal(root.body, `ok ${web.metadata?.name}`);
  });

  it('is listed ready in the EndpointSlice the real controller-manager makes for its Service', async () => {
    const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
    const endpoint = await eventually('a ready endpoint for the web pod', async () => {
      const slices = await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: 'kubernetes.io/service-name=web',
      });
      return slices.items
        .flatMap((slice) => slice.endpoints ?? [])
        .find((e) => e.addresses.includes(web.status!.podIP!) && e.conditions?.ready);
    });
    assert.equal(endpoint.nodeName, amd64.name);
    assert.equal(endpoint.targetRef?.name, web.metadata?.name);
  });

  it('gives the process its env (valueFrom, envFrom, $(VAR) expansion), args, user and working dir', async () => {
    const seen = await json<{
      env: Record<string, string>;
      uid: number;
      gid: number;
      groups: number[];
      cwd: string;
      argv: string[];
    }>(web, '/env');
    const name = web.metadata!.name!;
    assert.equal(seen.env.POD_NAME, name);
    assert.equal(seen.env.POD_NAMESPACE, namespace);
    assert.equal(seen.env.POD_UID, web.metadata?.uid);
    assert.equal(seen.env.POD_IP, web.status?.podIP);
    assert.equal(seen.env.NODE, amd64.name);
    assert.equal(seen.env.SA, 'default');
    assert.equal(seen.env.APP, 'web');
    assert.equal(seen.env.NOTE, 'hello');
    assert.equal(seen.env.FROM_CM, 'test');
    assert.equal(seen.env.FROM_SECRET, 's3cret');
    assert.equal('ABSENT' in seen.env, false);
    assert.equal(seen.env.CM_GREETING, 'hi');
    assert.equal(seen.env.CM_MODE, 'test');
    assert.equal(seen.env.TOKEN, 's3cret');
    assert.equal(seen.env.MESSAGE, `hi from ${name}, not $(POD_NAME)`);
    assert.equal(seen.env.KUBERNETES_SERVICE_HOST, '10.244.0.1');
    assert.equal(seen.env.KUBERNETES_SERVICE_PORT, String(apiserverPort));
    assert.equal(seen.env.HOSTNAME, name);
    assert.equal(seen.env.NODE_VERSION?.startsWith('22.'), true, 'the image ENV is kept');
    assert.deepEqual(seen.argv, [name, '$(POD_NAME)', '$(NOT_DEFINED)']);
    assert.equal(seen.uid, 1000);
    assert.equal(seen.gid, 1000);
    assert.ok(seen.groups.includes(2000), `fsGroup in ${seen.groups}`);
    assert.equal(seen.cwd, '/work');
  });

  it('mounts configMap (items, defaultMode), secret, emptyDir, subPath and downwardAPI volumes', async () => {
    const registry = await json<{ content: string; mode: number }>(
      web,
      '/file?path=/etc/app/registry.json',
    );
    assert.equal(registry.content, '{"version":1}');
    assert.equal(registry.mode, 0o640 | 0o440, 'defaultMode, group-readable for fsGroup');
    assert.equal((await get(web, '/file?path=/etc/app/MODE')).status, 500, 'only the listed items');
    const password = await json<{ content: string; mode: number }>(
      web,
      '/file?path=/etc/creds/password.txt',
    );
    assert.equal(password.content, 'hunter2');
    assert.equal(password.mode, 0o440);
    assert.equal((await json<{ content: string }>(web, '/file?path=/etc/greeting')).content, 'hi');
    assert.equal((await json<{ ok: boolean }>(web, '/write?path=/scratch/out')).ok, true);
    assert.equal(
      (await json<{ content: string }>(web, '/file?path=/etc/podinfo/labels')).content
        .split('\n')
        .find((l) => l.startsWith('app=')),
      'app="web"',
    );
    assert.equal(
      (await json<{ target: string }>(web, '/readlink?path=/etc/app/registry.json')).target,
      '..data/registry.json',
    );
    assert.equal((await get(web, '/write?path=/etc/app/x')).status, 500, 'readOnly mount');
  });

  it('serves a bound service-account token (kube-api-access) that the apiserver accepts from the pod', async () => {
    const { status, body } = await get(web, '/whoami');
    assert.equal(status, 200, body);
    const review = JSON.parse(body) as {
      status?: { userInfo?: { username?: string; extra?: Record<string, string[]> } };
    };
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:${namespace}:default`);
    assert.deepEqual(review.status?.userInfo?.extra?.['authentication.kubernetes.io/pod-name'], [
      web.metadata?.name,
    ]);
  });

  it('updates a configMap volume by swapping ..data when the ConfigMap changes', async () => {
    const before = (await json<{ target: string }>(web, '/readlink?path=/etc/app/..data')).target;
    await core.patchNamespacedConfigMap({
      namespace,
      name: 'settings',
      body: [{ op: 'replace', path: '/data/registry.json', value: '{"version":2}' }],
    });
    await eventually(
      'the new registry.json in the pod',
      async () =>
        (await json<{ content: string }>(web, '/file?path=/etc/app/registry.json')).content ===
        '{"version":2}',
    );
    const after = (await json<{ target: string }>(web, '/readlink?path=/etc/app/..data')).target;
    assert.notEqual(after, before);
    assert.equal(
      (await json<{ content: string }>(web, '/file?path=/etc/greeting')).content,
      'hi',
      'subPath is not updated',
    );
  });

  it('places a Deployment with nodeSelector arm64 on the arm64 node', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment('arm', { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }),
    });
    const pod = await eventually('the arm pod Ready', async () => {
      const p = await onePod('arm');
      return isReady(p) ? p : undefined;
    });
    assert.equal(pod.spec?.nodeName, arm64.name);
    assert.ok(
      inCidr(pod.status!.podIP!, arm64.podCIDR),
      `${pod.status?.podIP} in ${arm64.podCIDR}`,
    );
    assert.equal((await get(pod, '/')).status, 200);
    assert.equal((await get(web, '/')).body.startsWith('ok'), true);
    // Pods on the two nodes reach each other over the bridge.
    const info = kubelet.pod(namespace, web.metadata!.name!)!;
    const out = execFileSync(
      'ip',
      [
        'netns',
        'exec',
        info.netns!,
        'node',
        '-e',
        `fetch('http://${pod.status!.podIP}:8080/').then(async (r) => console.log(r.status, await r.text()))`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(out.trim(), `200 ok ${pod.metadata?.name}`);
  });

  it('keeps running pods and picks up new ones across a kube-apiserver restart', async () => {
    await plane.restart();
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'after-restart', labels: { app: 'after-restart' } },
        spec: {
          containers: [
            {
              name: 'server',
              image: IMAGE,
              command: ['node', '-e', SERVER],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    const pod = await eventually('the pod created after the restart Ready', async () => {
      const p = await core.readNamespacedPod({ namespace, name: 'after-restart' });
      return isReady(p) ? p : undefined;
    });
    assert.equal((await get(pod, '/')).body, 'ok after-restart');
    assert.equal(isReady(await onePod('web')), true);
    await core.deleteNamespacedPod({ namespace, name: 'after-restart' });
  });

  it('waits for a missing ConfigMap (CreateContainerConfigError, FailedMount) and starts once it exists', async () => {
    const waiting = (name: string, volume: boolean): V1Pod => ({
      metadata: { name, labels: { app: name } },
      spec: {
        containers: [
          {
            name: 'server',
            image: IMAGE,
            command: ['node', '-e', SERVER],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            ...(volume
              ? { volumeMounts: [{ name: 'late', mountPath: '/etc/late' }] }
              : {
                  env: [
                    { name: 'LATE', valueFrom: { configMapKeyRef: { name: 'late', key: 'k' } } },
                  ],
                }),
          },
        ],
        ...(volume ? { volumes: [{ name: 'late', configMap: { name: 'late' } }] } : {}),
      },
    });
    await core.createNamespacedPod({ namespace, body: waiting('late-env', false) });
    await core.createNamespacedPod({ namespace, body: waiting('late-volume', true) });
    const state = async (name: string) =>
      (await core.readNamespacedPod({ namespace, name })).status?.containerStatuses?.[0]?.state;
    const configError = await eventually('CreateContainerConfigError', async () => {
      const waitingState = (await state('late-env'))?.waiting;
      return waitingState?.reason === 'CreateContainerConfigError' ? waitingState : undefined;
    });
    assert.equal(configError.message, 'configmap "late" not found');
    await eventually('a FailedMount event', async () =>
      (
        await core.listNamespacedEvent({
          namespace,
          fieldSelector: 'involvedObject.name=late-volume',
        })
      ).items.some((e) => e.reason === 'FailedMount'),
    );
    assert.equal((await state('late-volume'))?.waiting?.reason, 'ContainerCreating');
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'late' }, data: { k: 'finally' } },
    });
    const started = Date.now();
    for (const name of ['late-env', 'late-volume']) {
      await eventually(`${name} Ready`, async () =>
        isReady(await core.readNamespacedPod({ namespace, name })),
      );
    }
    assert.ok(Date.now() - started < 5_000, 'started on the ConfigMap event, not a slow retry');
    const env = await core.readNamespacedPod({ namespace, name: 'late-env' });
    assert.equal((await json<{ env: Record<string, string> }>(env, '/env')).env.LATE, 'finally');
    const volume = await core.readNamespacedPod({ namespace, name: 'late-volume' });
    assert.equal(
      (await json<{ content: string }>(volume, '/file?path=/etc/late/k')).content,
      'finally',
    );
    for (const name of ['late-env', 'late-volume'])
      await core.deleteNamespacedPod({ namespace, name });
  });

  it('restarts a crashing container with growing restartCount, CrashLoopBackOff and lastState', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'crasher', labels: { app: 'crasher' } },
        spec: {
          nodeSelector: { 'kubernetes.io/arch': 'amd64' },
          containers: [
            {
              name: 'crash',
              image: IMAGE,
              command: ['node', '-e', 'console.log("crashing"); process.exit(1)'],
            },
          ],
        },
      },
    });
    const pod = await eventually(
      'restartCount 3',
      async () => {
        const p = await core.readNamespacedPod({ namespace, name: 'crasher' });
        const status = p.status?.containerStatuses?.[0];
        return (status?.restartCount ?? 0) >= 3 ? p : undefined;
      },
      30_000,
    );
    const status = pod.status!.containerStatuses![0]!;
    assert.equal(pod.status?.phase, 'Running');
    assert.equal(status.lastState?.terminated?.exitCode, 1);
    assert.equal(status.lastState?.terminated?.reason, 'Error');
    assert.ok(status.lastState?.terminated?.startedAt && status.lastState.terminated.finishedAt);
    await eventually('the CrashLoopBackOff state', async () => {
      const s = (await core.readNamespacedPod({ namespace, name: 'crasher' })).status
        ?.containerStatuses?.[0];
      if (s?.state?.waiting?.reason === 'CrashLoopBackOff') {
        assert.match(
          s.state.waiting.message ?? '',
          /^back-off \S+ restarting failed container=crash pod=crasher_/,
        );
        return true;
      }
      return false;
    });
    const reasons = await eventually('kubelet events for the crasher', async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.name=crasher,source=kubelet',
      });
      const seen = new Set(events.items.map((e) => e.reason));
      return seen.has('BackOff') ? seen : undefined;
    });
    for (const reason of ['Pulled', 'Created', 'Started']) assert.ok(reasons.has(reason), reason);
    const info = kubelet.pod(namespace, 'crasher')!;
    assert.equal(readFileSync(join(info.containers[0]!.logDir, '0.log'), 'utf8'), 'crashing\n');
    await core.deleteNamespacedPod({ namespace, name: 'crasher' });
  });

  it('runs init containers in order, then the container; restartPolicy Never ends Succeeded', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'job', labels: { app: 'job' } },
        spec: {
          restartPolicy: 'Never',
          volumes: [{ name: 'shared', emptyDir: {} }],
          initContainers: ['first', 'second'].map((step) => ({
            name: step,
            image: IMAGE,
            command: ['node', '-e', `require('fs').appendFileSync('/shared/steps', '${step}\\n')`],
            volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
          })),
          containers: [
            {
              name: 'main',
              image: IMAGE,
              command: [
                'node',
                '-e',
                `process.stdout.write(require('fs').readFileSync('/shared/steps', 'utf8'))`,
              ],
              volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
            },
          ],
        },
      },
    });
    const pod = await eventually('the job pod Succeeded', async () => {
      const p = await core.readNamespacedPod({ namespace, name: 'job' });
      return p.status?.phase === 'Succeeded' ? p : undefined;
    });
    const inits = pod.status?.initContainerStatuses ?? [];
    assert.deepEqual(
      inits.map((s) => [s.name, s.ready, s.state?.terminated?.reason]),
      [
        ['first', true, 'Completed'],
        ['second', true, 'Completed'],
      ],
    );
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    assert.equal(pod.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
    const info = kubelet.pod(namespace, 'job');
    assert.equal(
      readFileSync(info!.containers.find((c) => c.name === 'main')!.logPath!, 'utf8'),
      'first\nsecond\n',
    );
    await eventually(
      'the sandbox of the finished pod torn down',
      () => !kubelet.pod(namespace, 'job')?.netns,
    );
    await core.deleteNamespacedPod({ namespace, name: 'job' });
  });

  it('restarts a container whose exec liveness probe fails (the probe runs inside the container)', async () => {
    // The container's /tmp is its own: the probe sees /tmp/alive only inside the container.
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'liveness', labels: { app: 'liveness' } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'app',
              image: IMAGE,
              command: [
                'node',
                '-e',
                `const fs = require('fs'); fs.writeFileSync('/tmp/alive', ''); setTimeout(() => fs.rmSync('/tmp/alive'), 1500); setInterval(() => {}, 1000)`,
              ],
              livenessProbe: {
                exec: { command: ['cat', '/tmp/alive'] },
                initialDelaySeconds: 1,
                periodSeconds: 1,
                failureThreshold: 1,
              },
            },
          ],
        },
      },
    });
    const pod = await eventually(
      'a liveness restart',
      async () => {
        const p = await core.readNamespacedPod({ namespace, name: 'liveness' });
        return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? p : undefined;
      },
      30_000,
    );
    const last = pod.status?.containerStatuses?.[0]?.lastState?.terminated;
    assert.ok(last, 'lastState.terminated');
    assert.ok([137, 143].includes(last.exitCode), `exit code ${last.exitCode}`);
    // The probe at 1 s found the file (else the kill would have come at once).
    const ranMs = last.finishedAt!.getTime() - last.startedAt!.getTime();
    assert.ok(ranMs >= 1_000, `ran ${ranMs} ms before the liveness kill`);
    await core.deleteNamespacedPod({ namespace, name: 'liveness' });
  });

  it('scaled to 0, the pod gets SIGTERM, exits, is deleted, and its netns and veth are gone', async () => {
    const info = kubelet.pod(namespace, web.metadata!.name!);
    assert.ok(info?.netns && netnsNames().includes(info.netns));
    const veth = `mcpf${info.netns.slice('mcpf-'.length)}`;
    assert.ok(linkNames().includes(veth));
    const logPath = info.containers[0]!.logPath!;
    await apps.patchNamespacedDeploymentScale({
      namespace,
      name: 'web',
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    });
    await eventually('the web pod deleted', async () => (await podsOf('web')).length === 0, 30_000);
    assert.match(readFileSync(logPath, 'utf8'), /SIGTERM received/, logsOf(info));
    await eventually(
      'the web sandbox gone',
      () => !netnsNames().includes(info.netns!) && !linkNames().includes(veth),
    );
    await eventually(
      'the kubelet to forget the pod',
      () => !kubelet.pod(namespace, web.metadata!.name!),
    );
  });

  it('cleans up every sandbox when it stops; deletePods removes its pods', async function () {
    const arm = (await onePod('arm'))!;
    // Orphan the pod, so no ReplicaSet replaces it once it is gone.
    await apps.deleteNamespacedDeployment({ namespace, name: 'arm', propagationPolicy: 'Orphan' });
    const netns = kubelet.pods().flatMap((p) => (p.netns ? [p.netns] : []));
    assert.ok(netns.length >= 1, 'the arm pod still runs');
    await kubelet.stop({ deletePods: true });
    for (const name of netns) assert.equal(netnsNames().includes(name), false, `${name} removed`);
    await assert.rejects(
      core.readNamespacedPod({ namespace, name: arm.metadata!.name! }),
      /404|not found/i,
    );
  });
});
