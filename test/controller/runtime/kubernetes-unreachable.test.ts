// A controller on the Kubernetes runtime whose apiserver cannot be reached still starts and
// listens (so kubelet's liveness probe does not kill it) and says why it is not ready.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startController, type RunningController } from '../../../controller/start.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { freePort } from '../support/free-port.ts';

describe('Kubernetes runtime with an unreachable apiserver', function () {
  this.timeout(30_000);
  let controller: RunningController | undefined;

  after(async () => {
    await controller?.close();
  });

  it('listens at once, answers /healthz, and reports the cluster in /readyz', async () => {
    const port = await freePort(); // nothing listens there
    const kubeconfig = join(tmpdir(), `unreachable-${process.pid}.kubeconfig`);
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}` } }],
        users: [{ name: 'u', user: { token: 'x' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    );
    const startedAt = Date.now();
    controller = await startController({
      specs: [],
      runtime: 'kubernetes',
      kubernetes: { namespace: 'nowhere', podName: 'p', kubeconfig },
      host: '127.0.0.1',
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
    });
    // Bounded by open()'s wait for the first list, not by the apiserver.
    assert.ok(Date.now() - startedAt < 15_000, `${Date.now() - startedAt} ms to start`);
    const health = await request(`${controller.url}/healthz`);
    assert.equal(health.statusCode, 200);
    await health.body.text();
    const ready = await request(`${controller.url}/readyz`);
    assert.equal(ready.statusCode, 503);
    const body = (await ready.body.json()) as {
      checks: { cluster?: { ok: boolean; error?: string } };
    };
    assert.equal(body.checks.cluster?.ok, false);
    assert.match(body.checks.cluster?.error ?? '', /pod informer not synced/);
  });
});
