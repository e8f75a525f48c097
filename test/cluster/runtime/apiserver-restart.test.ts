// The apiserver restarts under a running controller: every watch drops, requests are refused
// for a few seconds. The pod informer reconnects with back-off and resumes (relisting if its
// resourceVersion is gone); a wake after the restart works, and /readyz says ready again.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startController, type RunningController } from '../../../controller/start.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { loadRegistry } from '../../../registry/catalog/index.ts';
import { waitFor } from '../../controller/support/processes.ts';
import { hostStarter, startProcessKubelet, type ProcessKubelet } from '../kubelet/index.ts';
import type { ControlPlane } from '../control-plane/control-plane.ts';
import { deleteNamespaceAndWait } from '../support/namespaces.ts';
import { sharedControlPlane } from '../support/shared-control-plane.ts';
import { serverDeployment } from './server-deployment.ts';

const REPO = new URL('../../../', import.meta.url).pathname;

describe('Kubernetes runtime: the apiserver restarts under a running controller', function () {
  this.timeout(120_000);
  const namespace = `restart-${Date.now().toString(36)}`;
  let plane: ControlPlane;
  let kubeConfig: KubeConfig;
  let kubelet: ProcessKubelet;
  let controller: RunningController;

  before(async function () {
    this.timeout(60 * 60_000);
    plane = await sharedControlPlane();
    kubeConfig = plane.kubeConfig();
    kubelet = await startProcessKubelet({
      kubeConfig,
      nodes: [{ name: `${namespace}-amd64`, arch: 'amd64', podCIDR: '10.244.51.0/24' }],
      images: hostStarter(),
      logger: silentLogger(),
    });
    await kubeConfig
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
    const everything = (await loadRegistry(join(REPO, 'registry/servers'))).specs.find(
      (s) => s.slug === 'everything',
    )!;
    await kubeConfig
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({ namespace, body: serverDeployment(everything, namespace) });
    const kubeconfigPath = join(tmpdir(), `${namespace}.kubeconfig`);
    writeFileSync(kubeconfigPath, kubeConfig.exportConfig());
    controller = await startController({
      specs: [everything],
      runtime: 'kubernetes',
      kubernetes: { namespace, podName: 'controller-restart', kubeconfig: kubeconfigPath },
      host: '127.0.0.1',
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
    });
  });

  after(async function () {
    this.timeout(60_000);
    await controller?.close();
    if (kubeConfig)
      await deleteNamespaceAndWait(kubeConfig, namespace).catch((err: unknown) =>
        console.warn(String(err)),
      );
    await kubelet?.stop({ deletePods: true });
  });

  const readyz = async () =>
    ((await (await fetch(`${controller.url}/readyz`)).json()) as { status: string }).status;

  it('resumes its watch and wakes a server after the restart', async () => {
    await waitFor(async () => (await readyz()) === 'ready', 15_000, 'ready before the restart');
    await plane.restart();
    await waitFor(async () => (await readyz()) === 'ready', 60_000, 'ready after the restart');
    const client = new Client({ name: 'after-restart', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${controller.url}/servers/everything/mcp`)),
    );
    const result = await client.callTool({ name: 'echo', arguments: { message: 'resumed' } });
    assert.match(JSON.stringify(result.content), /resumed/);
    await client.close();
  });
});
