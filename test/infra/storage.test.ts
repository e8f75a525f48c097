// Issue 8, point 13: a stateful server (the memory server's knowledge graph) keeps its files
// on a persistent volume, not on an emptyDir or /tmp that every sleep throws away. The volume is
// declared in `_meta` and reached through $(MCPFLEET_DATA_DIR): a claim in a cluster, a folder
// per server on a laptop.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadRegistry } from '../../registry/catalog/index.ts';
import {
  DATA_DIR_VARIABLE,
  STORAGE_MOUNT_PATH,
  type WorkloadSpec,
} from '../../registry/catalog/spec.ts';
import { SKIP_AWAIT, storageClaimName } from '../../infra/manifests/server.ts';
import { readStackFile, renderObjects } from '../../infra/render.ts';
import { resolveLaunch, SERVER_DATA_ROOT_VARIABLE } from '../../controller/runtime/launch-plan.ts';
import { workloadName } from '../../registry/catalog/workload-names.ts';
import { starterSpecs } from './fixtures.ts';
import { ofType } from './harness.ts';
import { k8sObject, stackRun, type Obj } from './runs.ts';
import { serverJson, tempRegistry, withSettings } from '../registry/temp-registry.ts';

const CLAIM = 'kubernetes:core/v1:PersistentVolumeClaim';
const DEPLOYMENT = 'kubernetes:apps/v1:Deployment';

describe('issue 8.13: stateful servers keep their files on a persistent volume', function () {
  this.timeout(60_000);
  let memory: WorkloadSpec;
  before(async () => {
    memory = (await starterSpecs()).find((s) => s.slug === 'memory') as WorkloadSpec;
  });

  it('the memory server declares storage and keeps its graph under $(MCPFLEET_DATA_DIR)', () => {
    assert.deepEqual(memory.storage, { size: '1Gi' });
    assert.equal(memory.scaling.maxReplicas, 1);
    assert.equal(Object.keys(memory.env)[0], DATA_DIR_VARIABLE, 'first, so later ones expand it');
    assert.equal(memory.env[DATA_DIR_VARIABLE], STORAGE_MOUNT_PATH);
    assert.equal(memory.env.MEMORY_FILE_PATH, `$(${DATA_DIR_VARIABLE})/memory.jsonl`);
  });

  for (const stack of ['local', 'dev', 'prod'] as const) {
    it(`${stack}: a claim the up never waits on and never deletes, mounted where the variable says`, async () => {
      const run = await stackRun(stack);
      const claims = ofType(run, CLAIM).filter((c) =>
        String((c.inputs.metadata as Obj).name).startsWith('mcp-'),
      );
      assert.deepEqual(
        claims.map((c) => (c.inputs.metadata as Obj).name),
        [storageClaimName('memory')],
        'only the server with storage has a claim',
      );
      const claim = claims[0]!;
      const metadata = claim.inputs.metadata as Obj;
      assert.equal(
        metadata.annotations[SKIP_AWAIT],
        'true',
        'WaitForFirstConsumer: no pod, no bind',
      );
      assert.equal(
        metadata.labels['app.kubernetes.io/version'],
        undefined,
        'a version bump leaves it',
      );
      assert.ok(claim.retainOnDelete, 'removing the server from the registry keeps its data');
      assert.deepEqual((claim.inputs.spec as Obj).accessModes, ['ReadWriteOnce']);
      assert.equal((claim.inputs.spec as Obj).resources.requests.storage, '1Gi');

      const deployment = k8sObject(run, DEPLOYMENT, workloadName('memory'));
      assert.ok(deployment.dependencies.includes(claim.urn), 'the Deployment waits for its claim');
      const spec = deployment.inputs.spec as Obj;
      assert.deepEqual(spec.strategy, { type: 'Recreate' }, 'one node at a time for an RWO volume');
      const pod = spec.template.spec;
      const volume = pod.volumes.find((v: Obj) => v.persistentVolumeClaim);
      assert.equal(volume.persistentVolumeClaim.claimName, storageClaimName('memory'));
      const [container] = pod.containers;
      assert.ok(
        container.volumeMounts.some(
          (m: Obj) => m.name === volume.name && m.mountPath === STORAGE_MOUNT_PATH,
        ),
      );
      const names = container.env.map((e: Obj) => e.name);
      assert.ok(
        names.indexOf(DATA_DIR_VARIABLE) < names.indexOf('MEMORY_FILE_PATH'),
        'Kubernetes expands $(VAR) only from variables defined before it',
      );
      assert.ok(pod.securityContext.fsGroup, 'the non-root server may write the volume');

      const others = ofType(run, DEPLOYMENT).filter(
        (d) => (d.inputs.metadata as Obj).name !== workloadName('memory'),
      );
      for (const other of others)
        assert.notDeepEqual((other.inputs.spec as Obj).strategy, { type: 'Recreate' });
    });
  }

  it('registry render prints the claim before the Deployment that mounts it', async () => {
    const specs = await starterSpecs();
    const objects = renderObjects(readStackFile('dev'), specs) as Obj[];
    const claimAt = objects.findIndex((o) => o.kind === 'PersistentVolumeClaim');
    const deploymentAt = objects.findIndex(
      (o) => o.kind === 'Deployment' && o.metadata.name === workloadName('memory'),
    );
    assert.ok(claimAt >= 0 && claimAt < deploymentAt);
  });

  it('refuses storage on a server that may run several replicas, and the variable without storage', async () => {
    const registry = await tempRegistry({
      many: withSettings({ storage: { size: '1Gi' } }),
      bare: withSettings(
        { inputs: { STATE: '$(MCPFLEET_DATA_DIR)/state.json' } },
        serverJson({
          packages: [
            {
              registryType: 'npm',
              identifier: '@example/demo',
              version: '1.0.0',
              transport: { type: 'stdio' },
              environmentVariables: [{ name: 'STATE', description: 'where state goes' }],
            },
          ],
        }),
      ),
      sized: withSettings({ storage: { size: 'lots' }, scaling: { maxReplicas: 1 } }),
    });
    try {
      const { problems } = await loadRegistry(registry.dir);
      const of = (slug: string) => problems.filter((p) => p.file.includes(`${slug}/`));
      assert.match(
        of('many')
          .map((p) => `${p.path}: ${p.message}`)
          .join('\n'),
        /maxReplicas: a server with "storage" runs one replica .*set scaling\.maxReplicas to 1 \(it is 3\)/,
      );
      const bare = of('bare');
      assert.equal(bare[0]?.rule, 'storage');
      assert.match(
        bare[0]!.message,
        /the variable STATE uses \$\(MCPFLEET_DATA_DIR\).*add "storage"/,
      );
      assert.match(
        of('sized')
          .map((p) => p.message)
          .join('\n'),
        /a volume size like "1Gi"/,
      );
    } finally {
      await registry.cleanup();
    }
  });

  it('on a laptop, $(MCPFLEET_DATA_DIR) is a private folder per server that survives restarts', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'mcpfleet-server-data-'));
    try {
      const environment = { ...process.env, [SERVER_DATA_ROOT_VARIABLE]: root };
      const resolved = resolveLaunch(memory, environment);
      assert.ok(resolved.ok, resolved.ok ? '' : resolved.reason);
      const dir = path.join(root, 'memory');
      assert.equal(resolved.launch.env[DATA_DIR_VARIABLE], dir);
      assert.equal(resolved.launch.env.MEMORY_FILE_PATH, path.join(dir, 'memory.jsonl'));
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(resolveLaunch(memory, environment).ok, true, 'an existing folder is kept');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
