// `kubectl logs` on the process kubelet: kubectl (built from the control plane's release) asks
// kube-apiserver for pods/log, which dials the node's InternalIP on its kubeletEndpoint port
// with its kubelet client certificate; the kubelet API authenticates it, authorizes it with a
// SubjectAccessReview (get nodes/proxy) and serves the container's CRI log — the current or the
// previous instance, with --tail, --timestamps and -f as a kubelet serves them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ensureKubectl } from './control-plane/build.ts';
import { hostStarter, startProcessKubelet, type ProcessKubelet } from './kubelet/index.ts';
import { sharedControlPlane } from './support/shared-control-plane.ts';

const namespace = `kubelet-logs-${Date.now().toString(36)}`;
// Where the pods' emptyDir is mounted (hostStarter binds it over this host path, privately).
const DATA = '/tmp/mcpfleet-kubelet-logs-data';
const node = { name: `${namespace}-amd64`, arch: 'amd64' as const, podCIDR: '10.244.61.0/24' };

async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A GET to the kubelet API itself, with or without a client certificate. */
function kubeletGet(
  port: number,
  path: string,
  ca: string,
  client?: { cert: string; key: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '10.244.0.1', port, path, ca, ...client }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

describe('kubectl logs through the kubelet API of the process kubelet', function () {
  this.timeout(120_000);
  let plane: Awaited<ReturnType<typeof sharedControlPlane>>;
  let kubelet: ProcessKubelet;
  let core: CoreV1Api;
  let kubectlBin: string;
  let kubeconfig: string;

  // Not spawnSync: the kubelet API answers from this process's event loop.
  const kubectl = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(kubectlBin, ['--kubeconfig', kubeconfig, '-n', namespace, ...args]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('close', (status) => resolve({ status, stdout, stderr }));
    });
  const status = async (pod: string, container: string) =>
    (await core.readNamespacedPod({ namespace, name: pod })).status?.containerStatuses?.find(
      (c) => c.name === container,
    );
  const pod = (name: string, restartPolicy: string, containers: [string, string][]): V1Pod => ({
    metadata: { name, namespace },
    spec: {
      restartPolicy,
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: containers.map(([container, script]) => ({
        name: container,
        image: 'host',
        command: ['/bin/sh', '-c', script],
        volumeMounts: [{ name: 'data', mountPath: DATA }],
      })),
    },
  });

  before(async function () {
    this.timeout(60 * 60_000); // a first run on this machine builds the control plane
    plane = await sharedControlPlane();
    kubectlBin = await ensureKubectl();
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'kubelet-logs-')), 'kubeconfig');
    writeFileSync(kubeconfig, plane.kubeConfig().exportConfig(), { mode: 0o600 });
    core = plane.kubeConfig().makeApiClient(CoreV1Api);
    kubelet = await startProcessKubelet({
      kubeConfig: plane.kubeConfig(),
      nodes: [node],
      images: hostStarter(),
      serving: plane.kubeletServing(),
      backoff: { initialMs: 200, maxMs: 1_000 },
    });
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedPod({
      namespace,
      body: pod('talker', 'OnFailure', [
        // The first run crashes; the second runs on.
        [
          'crash',
          `n=$(cat ${DATA}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${DATA}/n; echo "run $n"; ` +
            'echo a; echo b; echo oops >&2; [ $n -gt 1 ] && exec sleep 3600; exit 3',
        ],
        ['ticker', 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.05; done'],
      ]),
    });
    await eventually('crash to run again', async () => {
      const s = await status('talker', 'crash');
      return s?.restartCount === 1 && s.state?.running ? s : undefined;
    });
  });

  after(async function () {
    await kubelet?.stop({ deletePods: true });
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('reports its kubelet API port in the Node, where the apiserver dials it', async () => {
    const live = await core.readNode({ name: node.name });
    assert.notEqual(live.status?.daemonEndpoints?.kubeletEndpoint?.Port, 10250);
    assert.deepEqual(
      live.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
      '10.244.0.1',
    );
  });

  it('serves the current run, and with --previous the run that crashed', async () => {
    const current = await kubectl('logs', 'talker', '-c', 'crash');
    assert.equal(current.status, 0, current.stderr);
    assert.deepEqual(current.stdout.split('\n').sort(), ['', 'a', 'b', 'oops', 'run 2']);
    const previous = await kubectl('logs', 'talker', '-c', 'crash', '--previous');
    assert.equal(previous.status, 0, previous.stderr);
    assert.deepEqual(previous.stdout.split('\n').sort(), ['', 'a', 'b', 'oops', 'run 1']);
  });

  it('says a container with no earlier run has no previous log (BadRequest, as a kubelet)', async () => {
    const run = await kubectl('logs', 'talker', '-c', 'ticker', '--previous');
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /BadRequest.*previous terminated container "ticker" in pod "talker" not found/,
    );
    const missing = await kubectl('logs', 'talker', '-c', 'nope');
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /container nope is not valid for pod talker/);
  });

  it('--tail N gives the last N lines; --timestamps prefixes each with its RFC 3339 time', async () => {
    const tail = await kubectl('logs', 'talker', '-c', 'ticker', '--tail', '3');
    assert.equal(tail.status, 0, tail.stderr);
    const ticks = tail.stdout.trimEnd().split('\n');
    assert.equal(ticks.length, 3);
    const numbers = ticks.map((line) => Number(/^tick (\d+)$/.exec(line)![1]));
    assert.deepEqual(numbers, [numbers[0]!, numbers[0]! + 1, numbers[0]! + 2]);
    const stamped = await kubectl('logs', 'talker', '-c', 'crash', '--timestamps');
    assert.equal(stamped.status, 0, stamped.stderr);
    for (const line of stamped.stdout.trimEnd().split('\n')) {
      const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (.*)$/.exec(line);
      assert.ok(match, line);
      assert.ok(Math.abs(Date.parse(match[1]!) - Date.now()) < 120_000, line);
    }
  });

  it('-f streams new lines while the container runs and ends when it exits', async () => {
    await core.createNamespacedPod({
      namespace,
      body: pod('finite', 'Never', [
        ['main', `echo first; while [ ! -e ${DATA}/go ]; do sleep 0.05; done; echo last`],
      ]),
    });
    await eventually('finite to run', async () => (await status('finite', 'main'))?.state?.running);
    const follow = spawn(kubectlBin, [
      '--kubeconfig',
      kubeconfig,
      '-n',
      namespace,
      'logs',
      '-f',
      'finite',
    ]);
    let output = '';
    follow.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follow.once('close', resolve));
    await eventually('the first line through -f', async () =>
      output === 'first\n' ? true : undefined,
    );
    // The container goes on only now: what follows must come through the open stream.
    const info = kubelet.pod(namespace, 'finite')!;
    writeFileSync(join(info.podDir, 'volumes', 'kubernetes.io~empty-dir', 'data', 'go'), '');
    assert.equal(await exited, 0);
    assert.equal(output, 'first\nlast\n');
    assert.equal(readFileSync(info.containers[0]!.logPath!, 'utf8'), 'first\nlast\n');
  });

  it('authenticates callers by client certificate and authorizes them by SubjectAccessReview', async () => {
    const live = await core.readNode({ name: node.name });
    const port = live.status!.daemonEndpoints!.kubeletEndpoint!.Port;
    const path = `/containerLogs/${namespace}/talker/crash`;
    const noCert = await kubeletGet(port, path, plane.caPem);
    assert.equal(noCert.status, 401);
    const user = plane.userKubeConfig('no-node-access').getCurrentUser()!;
    const credentials = {
      cert: Buffer.from(user.certData!, 'base64').toString(),
      key: Buffer.from(user.keyData!, 'base64').toString(),
    };
    const denied = await kubeletGet(port, path, plane.caPem, credentials);
    assert.equal(denied.status, 403);
    assert.match(
      denied.body,
      /Forbidden \(user=no-node-access, verb=get, resource=nodes, subresource=proxy\)/,
    );
    const admin = plane.kubeConfig().getCurrentUser()!;
    const allowed = await kubeletGet(port, `${path}?tailLines=1`, plane.caPem, {
      cert: Buffer.from(admin.certData!, 'base64').toString(),
      key: Buffer.from(admin.keyData!, 'base64').toString(),
    });
    assert.equal(allowed.status, 200);
    assert.ok(allowed.body.endsWith('\n'));
  });
});
