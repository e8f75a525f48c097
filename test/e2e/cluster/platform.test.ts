// The rendered platform runs on a real control plane: the Kubernetes objects the Pulumi program
// declares for the local stack (an existing cluster, in-cluster PostgreSQL and Redis) are applied
// server-side as the Pulumi provider would, every pod that should run starts and becomes Ready
// in the process kubelet (PostgreSQL and Redis from the third-party image table, the controller
// and the runners from our Dockerfiles, the server from the program's own bake plan), and an MCP
// client on the host wakes a server from zero through the controller pod, which scales it back
// to zero when idle and reloads a changed registry ConfigMap without restarting. The controller
// checks credentials as deployed (issue 10): unauthenticated calls get 401, the first admin key
// is made inside the pod as first-deployment.md says, and every call after it sends a key.
// What differs from `pulumi up` of Pulumi.local.yaml is listed in collect-objects.ts and
// test-registry.ts; the cluster's stand-ins in test/cluster/support/cluster-dns.ts (DNS and
// Service routing) and persistent-volumes.ts (storage).
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { sharedControlPlane } from '../../cluster/support/shared-control-plane.ts';
import { serviceAccountCan, describeAccess, type Access } from './access-review.ts';
import { FIELD_MANAGER } from './apply.ts';
import { describeNamespace, pulumiServiceWait, until } from './cluster-state.ts';
import { objectKey, withoutDigest } from './collect-objects.ts';
import { controllerPod, type ControllerPod } from './controller-pod.ts';
import { deployPlatform, type DeployedPlatform } from './deploy-platform.ts';
import {
  isReady,
  namespaceView,
  podTemplate,
  runningWorkloads,
  type NamespaceView,
  type Pod,
} from './namespace-view.ts';
import { initializeBody } from '../../controller/support/mcp-messages.ts';
import { firstAdminKey } from './first-admin-key.ts';
import { describeRunbooksTried } from './runbooks-tried.ts';
import { isSubset } from './subset.ts';

const namespace = `platform-${Date.now().toString(36)}`;
const EVERYTHING_IDLE = '6s';
const restarts = (pod: Pod) => pod.status.containerStatuses?.[0]?.restartCount ?? 0;

describe('the rendered local platform on a real control plane', function () {
  this.timeout(120_000);
  let platform: DeployedPlatform;
  let view: NamespaceView;
  let controller: ControllerPod;
  let plane: Awaited<ReturnType<typeof sharedControlPlane>>;
  let failed = false;

  before(async function () {
    this.timeout(60 * 60_000); // a first run builds the control plane and the images
    plane = await sharedControlPlane();
    platform = await deployPlatform({
      kubeConfig: plane.kubeConfig(),
      kubeletServing: plane.kubeletServing(),
      namespace,
      scaling: { everything: { idleTimeout: EVERYTHING_IDLE } },
      warm: (image) => image.includes('server-everything-'),
      nodes: { amd64: '10.244.41.0/24', arm64: '10.244.42.0/24' },
    });
    view = namespaceView(platform.applier, namespace);
    const image = podTemplate(platform.object('Deployment', 'mcpfleet-controller')).containers[0]!;
    controller = controllerPod(platform.kubelet, namespace, image.image);
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !platform) return;
    failed = true;
    console.error(await describeNamespace(platform.applier, namespace, platform.kubelet));
  });

  after(async function () {
    this.timeout(120_000);
    if (!platform) return;
    console.error(`[platform] timings (s): ${JSON.stringify(platform.timings)}`);
    if (failed) console.error(`[platform] logs kept in ${platform.kubelet.logsDir}`);
    await platform.teardown({ keepLogs: failed });
  });

  it('has every declared object accepted by the apiserver, with no PodSecurity or other warning', async () => {
    const { stack, applied, volumes } = platform;
    assert.equal(applied.length, stack.objects.length + volumes.length);
    const warnings = applied.flatMap((a) => a.warnings.map((w) => `${objectKey(a.object)}: ${w}`));
    assert.deepEqual(warnings, []);
    for (const { object, live } of applied)
      assert.ok(
        live.metadata.managedFields?.some((f) => f.manager === FIELD_MANAGER),
        `${objectKey(object)} is managed by ${FIELD_MANAGER}`,
      );
    const ns = platform.object('Namespace', namespace);
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    // `pulumi up` awaits Services: every one must be done waiting (or opt out of the wait).
    const waiting = [];
    for (const service of stack.objects.filter((o) => o.kind === 'Service'))
      waiting.push(await pulumiServiceWait(platform.applier, service));
    assert.deepEqual(waiting.filter(Boolean), []);
  });

  it('runs every pod that should run, Ready and never restarted, its claims bound', async () => {
    // PostgreSQL, Redis, the controller, and servers with minReplicas > 0 (github, where its
    // image can be built here: see `unavailable`).
    for (const u of platform.unavailable)
      console.error(`[platform] ${u.slug} starts asleep here: ${u.image}: ${u.reason}`);
    const running = await view.pods();
    const owner = (p: Pod) => p.metadata.name.replace(/-[a-z0-9]{8,10}-[a-z0-9]{5}$|-\d+$/, '');
    const workloads = runningWorkloads(platform.stack.objects).map((o) => o.metadata.name);
    assert.deepEqual(running.map(owner).sort(), workloads.sort());
    for (const name of ['mcpfleet-postgres', 'mcpfleet-redis', 'mcpfleet-controller'])
      assert.ok(workloads.includes(name), name);
    assert.deepEqual(
      running.filter((p) => !isReady(p)).map((p) => p.metadata.name),
      [],
    );
    const firstLog = (pod: Pod) => {
      const info = platform.kubelet.pod(namespace, pod.metadata.name)?.containers[0];
      const file = info && join(info.logDir, '0.log');
      return file && existsSync(file) ? readFileSync(file, 'utf8').slice(-3000) : '(no log)';
    };
    for (const pod of running)
      assert.equal(
        restarts(pod),
        0,
        `${pod.metadata.name} restarted; its first run:\n${firstLog(pod)}`,
      );
    for (const volume of platform.volumes) {
      const claim = await platform.applier.request<{
        spec: { volumeName?: string };
        status: { phase?: string };
      }>('GET', `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${volume.claim}`);
      assert.equal(claim.status.phase, 'Bound');
      assert.equal(claim.spec.volumeName, volume.pv.metadata.name);
    }
    const dir = (claim: string) => platform.volumes.find((v) => v.claim === claim)!.dir;
    assert.ok(existsSync(join(dir('data-mcpfleet-postgres-0'), 'pgdata', 'PG_VERSION')));
    assert.ok(existsSync(join(dir('data-mcpfleet-redis-0'), 'appendonlydir')));
  });

  it('resolves Services to their ready endpoints through cluster DNS, short names too', async () => {
    const [postgres] = await view.pods('app.kubernetes.io/name=mcpfleet-postgres');
    const [redis] = await view.pods('app.kubernetes.io/name=mcpfleet-redis');
    const resolver = new Resolver();
    resolver.setServers([platform.dns.address]);
    const fqdn = (service: string) => `${service}.${namespace}.svc.cluster.local`;
    assert.deepEqual(await resolver.resolve4(fqdn('mcpfleet-postgres')), [postgres!.status.podIP]);
    await assert.rejects(resolver.resolve4(fqdn('mcp-everything')), { code: 'ENODATA' });
    await assert.rejects(resolver.resolve4(fqdn('no-such-service')), { code: 'ENOTFOUND' });
    // Inside the controller pod, through the resolv.conf search path the kubelet wrote.
    const script =
      "const d=require('dns');Promise.all(process.argv.slice(1).map(n=>d.promises.lookup(n,{family:4}))).then(a=>console.log(JSON.stringify(a.map(x=>x.address))))";
    const names = ['mcpfleet-postgres', `mcpfleet-redis.${namespace}`];
    const lookup = await controller.exec(['node', '-e', script, ...names]);
    assert.equal(lookup.exitCode, 0, lookup.output);
    assert.deepEqual(JSON.parse(lookup.output.trim()), [
      postgres!.status.podIP,
      redis!.status.podIP,
    ]);
    // The one Service whose port is not its pods' port; only the Ingress would dial it.
    assert.deepEqual(platform.dns.portMismatches(namespace), [
      `${namespace}/mcpfleet-controller: port 80 → endpoints on 8080`,
    ]);
  });

  it('starts with auth on: no credential gets 401 on an MCP endpoint and the API; the first admin key, made inside the pod, gets in', async () => {
    const bearer = (response: Response) => response.headers.get('www-authenticate') ?? '';
    const initialize = await fetch(`${controller.url}/servers/everything/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: initializeBody(),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(initialize.status, 401, await initialize.text());
    // The challenge points at the metadata under the public URL (the Ingress host).
    const host = (
      platform.object('Ingress', 'mcpfleet-controller').spec as { rules: { host: string }[] }
    ).rules[0]!.host;
    const metadata = `https://${host}/.well-known/oauth-protected-resource/servers/everything/mcp`;
    assert.match(bearer(initialize), /^Bearer /);
    assert.ok(bearer(initialize).includes(`resource_metadata="${metadata}"`), bearer(initialize));
    assert.equal(await view.scale('mcp-everything'), 0, 'refused before anything woke');
    const api = await controller.getJson<{ error: { code: string } }>('/api/v1/servers', null);
    assert.equal(api.status, 401, JSON.stringify(api.body));
    assert.equal(
      (await controller.getJson('/api/v1/servers', 'mcpf_0000000000000000_not-a-key')).status,
      401,
    );
    // Not open on purpose either: /readyz carries no --insecure-no-auth warning.
    const readyz = await controller.getJson<Record<string, unknown>>('/readyz', null);
    assert.doesNotMatch(JSON.stringify(readyz.body), /insecure-no-auth/);

    // The bootstrap as first-deployment.md gives it, run inside the pod as kubectl exec would.
    const admin = await firstAdminKey(controller);
    const servers = await controller.getJson<{ servers: { slug: string }[] }>(
      '/api/v1/servers',
      admin,
    );
    assert.equal(servers.status, 200, JSON.stringify(servers.body));
    assert.ok(servers.body.servers.some((s) => s.slug === 'everything'));
    const keys = await controller.getJson<{ keys: { name: string; role: string }[] }>(
      '/api/v1/keys',
      admin,
    );
    assert.deepEqual(
      keys.body.keys.map((k) => [k.name, k.role]),
      [['first-admin', 'admin']],
    );
    controller.token = admin; // what the tests below call with
  });

  it("runs the controller with the manifest's args, env and volumes, ready with store and coordination", async () => {
    const declared = podTemplate(platform.object('Deployment', 'mcpfleet-controller'));
    const [pod] = await view.pods('app.kubernetes.io/name=mcpfleet-controller');
    const [want, got] = [declared.containers[0]!, pod!.spec.containers[0]!];
    assert.deepEqual(got.args, want.args);
    assert.deepEqual(
      got.env?.map((e) => e.name),
      want.env?.map((e) => e.name),
    );
    assert.ok(isSubset(want, got), 'the live container has every declared field, env included');
    for (const volume of declared.volumes)
      assert.ok(
        pod!.spec.volumes.some((v) => isSubset(volume, v)),
        JSON.stringify(volume),
      );
    assert.equal(pod!.spec.serviceAccountName, 'mcpfleet-controller');
    // Its own token: the kube-api-access volume ServiceAccount admission adds (a bound token).
    assert.ok(
      pod!.spec.volumes.some((v) =>
        isSubset({ projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }, v),
      ),
    );
    // Hosts: the Service names are accepted (as the Ingress and in-cluster clients send them).
    for (const host of [
      'mcpfleet-controller',
      `mcpfleet-controller.${namespace}.svc.cluster.local`,
    ])
      assert.equal(await controller.statusWithHost('/api/v1/servers', host), 200, host);
    assert.equal(await controller.statusWithHost('/api/v1/servers', 'evil.example.com'), 403);
    const readyz = await controller.getJson<{
      status: string;
      checks: Record<string, { ok: boolean }>;
    }>('/readyz');
    assert.equal(readyz.status, 200, JSON.stringify(readyz.body));
    assert.equal(readyz.body.status, 'ready', JSON.stringify(readyz.body));
    assert.ok(readyz.body.checks.store?.ok && readyz.body.checks.coord?.ok);
    const leases = await platform.applier.request<{
      items: { spec: { holderIdentity?: string } }[];
    }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`);
    // The leader's identity is `<pod name>_<random>` (one per process).
    const leader = (l: { spec: { holderIdentity?: string } }) =>
      l.spec.holderIdentity?.startsWith(`${pod!.metadata.name}_`);
    assert.ok(leases.items.some(leader), JSON.stringify(leases.items));
    const forbidden = controller
      .log()
      .split('\n')
      .filter((l) => /\b403\b|forbidden/i.test(l));
    assert.deepEqual(forbidden, []);
  });

  it('grants the controller exactly what it needs through RBAC (SubjectAccessReview)', async () => {
    const account = { namespace, name: 'mcpfleet-controller' };
    const can = async (access: Access) =>
      (await serviceAccountCan(platform.applier, account, access)).allowed;
    const needed: Access[] = [
      ...['get', 'patch'].map((verb) => ({
        verb,
        group: 'apps',
        resource: 'deployments',
        subresource: 'scale',
      })),
      ...['list', 'watch'].map((verb) => ({ verb, group: '', resource: 'pods' })),
      ...['create', 'get', 'update'].map((verb) => ({
        verb,
        group: 'coordination.k8s.io',
        resource: 'leases',
      })),
      ...['list', 'watch'].map((verb) => ({ verb, group: '', resource: 'configmaps' })),
    ];
    const denied: Access[] = [
      { verb: 'update', group: 'apps', resource: 'deployments' },
      { verb: 'delete', group: '', resource: 'pods' },
      { verb: 'get', group: '', resource: 'secrets' },
      { verb: 'create', group: '', resource: 'pods' },
    ];
    for (const access of needed) assert.ok(await can(access), `allowed: ${describeAccess(access)}`);
    for (const access of denied)
      assert.ok(!(await can(access)), `denied: ${describeAccess(access)}`);
  });

  it('wakes everything from zero through the controller pod and answers tools/call echo', async () => {
    assert.equal(await view.scale('mcp-everything'), 0);
    const client = new Client({ name: 'platform-e2e', version: '1.0.0' });
    const started = Date.now();
    // Host is the pod IP, which the controller accepts as one of its own addresses.
    await client.connect(controller.mcpTransport('everything'));
    const result = await client.callTool({
      name: 'echo',
      arguments: { message: 'through the platform' },
    });
    platform.timings['wake + echo'] = (Date.now() - started) / 1000;
    assert.match(JSON.stringify(result.content), /through the platform/);
    assert.equal(await view.scale('mcp-everything'), 1);
    const [server] = await view.pods('mcpfleet.dev/server=everything');
    const bake = platform.stack.bakes.find((b) => b.image.includes('server-everything-'))!;
    assert.equal(withoutDigest(server!.spec.containers[0]!.image), bake.image, 'by digest');
    assert.match(server!.spec.containers[0]!.image, /@sha256:[0-9a-f]{64}$/);
    await client.close();
  });

  it('serves github, a stdio Go binary in its own image, bridged from an image volume', async function () {
    if (platform.unavailable.some((u) => u.slug === 'github')) this.skip();
    const [pod] = await view.pods('mcpfleet.dev/server=github');
    const spec = pod!.spec as {
      initContainers?: unknown[];
      volumes?: { image?: { reference?: string } }[];
    };
    assert.equal(spec.initContainers, undefined, 'nothing is copied at start');
    assert.ok(spec.volumes?.some((v) => v.image?.reference?.startsWith('ghcr.io/github/')));
    const client = new Client({ name: 'platform-e2e', version: '1.0.0' });
    await client.connect(controller.mcpTransport('github'));
    assert.match(client.getServerVersion()?.name ?? '', /github/i, 'the Go server answered');
    const { tools } = await client.listTools();
    assert.ok(
      tools.some((t) => t.name === 'get_file_contents'),
      `github tools: ${tools.map((t) => t.name).join(', ')}`,
    );
    await client.close();
  });

  it(`scales everything back to zero after its idle timeout (${EVERYTHING_IDLE})`, async () => {
    await until(async () => (await view.scale('mcp-everything')) === 0, 'scale to zero', 60_000);
    await until(
      async () => (await view.pods('mcpfleet.dev/server=everything')).length === 0,
      'the server pod to go',
      60_000,
    );
    const status = await controller.getJson<{ state: string }>('/api/v1/servers/everything');
    assert.equal(status.body.state, 'asleep');
  });

  it('reloads a changed registry ConfigMap while serving, without restarting', async () => {
    const reloads = () =>
      controller.metric('mcpfleet_registry_reloads_total', { outcome: 'applied' });
    const before = await reloads();
    const [podBefore] = await view.pods('app.kubernetes.io/name=mcpfleet-controller');
    const shard = structuredClone(platform.object('ConfigMap', 'mcpfleet-registry-0'));
    const data = shard.data as Record<string, string>;
    const specs = JSON.parse(data['servers.json']!) as {
      slug: string;
      scaling: { idleTimeoutMs: number };
    }[];
    specs.find((s) => s.slug === 'memory')!.scaling.idleTimeoutMs = 123_000;
    data['servers.json'] = JSON.stringify(specs);
    await platform.applier.apply(shard);
    await until(async () => (await reloads()) > before, 'the controller to reload', 60_000);
    const changed = controller
      .log()
      .split('\n')
      .filter((l) => l.includes('registry changed'));
    assert.equal(changed.length, 1, changed.join('\n'));
    assert.deepEqual((JSON.parse(changed[0]!) as { changed: string[] }).changed, ['memory']);
    const [pod] = await view.pods('app.kubernetes.io/name=mcpfleet-controller');
    assert.equal(pod!.metadata.uid, podBefore!.metadata.uid);
    assert.equal(restarts(pod!), restarts(podBefore!));
    assert.equal((await controller.getJson('/readyz')).status, 200);
    // The fleet applies the changed spec in place.
    const memory = await controller.getJson<{ idleTimeoutMs: number }>('/api/v1/servers/memory');
    assert.equal(memory.body.idleTimeoutMs, 123_000);
  });

  // Last: the runbooks' own commands, run as an operator would (their fixes sleep a server,
  // stop and restart Redis, and delete the controller pod).
  describeRunbooksTried(() => ({ plane, platform, view, controller, namespace }));
});
