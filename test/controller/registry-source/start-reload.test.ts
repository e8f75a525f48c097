// startController on a ConfigMap-style registry volume: it serves the shards' specs, and a
// kubelet swap reaches onRegistryChange (with what changed), the reload counter and /readyz;
// a bad swap is counted as rejected and changes nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { silentLogger } from '../../../controller/observability/log.ts';
import type { RegistryDiff } from '../../../controller/registry-source/spec-diff.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import { loadRegistry } from '../../../registry/catalog/index.ts';
import type { ServerSpec } from '../../../registry/catalog/spec.ts';
import { waitFor } from '../support/processes.ts';
import { KubeletVolume } from './kubelet-volume.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('startController with a registry volume', function () {
  this.timeout(30_000);
  let dir: string;
  let volume: KubeletVolume;
  let specs: ServerSpec[];
  let controller: RunningController;
  const changes: Array<{ specs: ServerSpec[]; diff: RegistryDiff }> = [];
  const spec = (slug: string): ServerSpec => specs.find((s) => s.slug === slug)!;

  before(async function () {
    specs = (await loadRegistry(path.join(ROOT, 'registry/servers'))).specs;
    dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-volume-'));
    volume = new KubeletVolume(dir);
    await volume.write({
      'mcpfleet-registry-0.json': JSON.stringify([spec('deepwiki'), spec('everything')]),
    });
    controller = await startController({
      registryDir: dir,
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
      registryWatch: { debounceMs: 50, pollIntervalMs: 60_000 },
      onRegistryChange: (next, diff) => changes.push({ specs: next, diff }),
    });
  });
  after(async function () {
    await controller?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function reloads(): Promise<Record<string, number>> {
    const text = await (await request(`${controller.url}/metrics`)).body.text();
    const counts: Record<string, number> = {};
    for (const [, outcome, value] of text.matchAll(
      /^mcpfleet_registry_reloads_total\{outcome="(\w+)"\} (\d+)$/gm,
    )) {
      counts[outcome!] = Number(value);
    }
    return counts;
  }

  it('serves the servers of every shard', async function () {
    assert.deepEqual(
      controller.fleet.list().map((s) => s.slug),
      ['deepwiki', 'everything'],
    );
    const ready = (await (await request(`${controller.url}/readyz`)).body.json()) as {
      checks: { registry: { servers: number } };
    };
    assert.equal(ready.checks.registry.servers, 2);
  });

  it('hands a kubelet swap to onRegistryChange with the diff, and counts it', async function () {
    await volume.write({
      'mcpfleet-registry-0.json': JSON.stringify([spec('everything')]),
      'mcpfleet-registry-1.json': JSON.stringify([spec('memory'), spec('fetch')]),
    });
    await waitFor(() => changes.length === 1, 5_000, 'onRegistryChange');
    assert.deepEqual(changes[0]!.diff, {
      added: ['fetch', 'memory'],
      removed: ['deepwiki'],
      changed: [],
    });
    assert.deepEqual(
      controller.specs().map((s) => s.slug),
      ['everything', 'fetch', 'memory'],
    );
    assert.deepEqual(await reloads(), { applied: 1 });
    // The fleet follows: the added servers are served, the removed one is gone.
    await waitFor(
      () =>
        controller.fleet
          .list()
          .map((s) => s.slug)
          .sort()
          .join() === 'everything,fetch,memory',
      5_000,
      'the fleet to follow the registry',
    );
    assert.equal(controller.fleet.has('deepwiki'), false);
    const ready = (await (await request(`${controller.url}/readyz`)).body.json()) as {
      checks: { registry: { servers: number } };
    };
    assert.equal(ready.checks.registry.servers, 3);
  });

  it('counts a rejected swap and keeps the specs in force', async function () {
    await volume.write({ 'mcpfleet-registry-0.json': '{"not": "a shard"}' });
    await waitFor(async () => (await reloads()).rejected === 1, 5_000, 'the rejection');
    assert.equal(changes.length, 1);
    assert.deepEqual(
      controller.specs().map((s) => s.slug),
      ['everything', 'fetch', 'memory'],
    );
  });

  it('applies a changed spec in place, without restarting the server', async function () {
    const changed = {
      ...spec('everything'),
      scaling: { ...spec('everything').scaling, idleTimeoutMs: 123_000 },
    };
    await volume.write({
      'mcpfleet-registry-0.json': JSON.stringify([changed]),
      'mcpfleet-registry-1.json': JSON.stringify([spec('memory'), spec('fetch')]),
    });
    await waitFor(
      () => controller.fleet.status('everything')?.idleTimeoutMs === 123_000,
      5_000,
      'the new idle timeout',
    );
    assert.deepEqual(changes.at(-1)!.diff, { added: [], removed: [], changed: ['everything'] });
  });
});
