// Registry sources: telling the two layouts apart, loading compiled-spec shards with located
// problems, and reloading a ConfigMap volume when the kubelet swaps its `..data` link.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../../controller/observability/log.ts';
import {
  detectRegistryFormat,
  openRegistrySource,
  RegistrySourceError,
  type RegistrySource,
} from '../../../controller/registry-source/registry-source.ts';
import {
  parseShard,
  ShardDirectorySource,
} from '../../../controller/registry-source/shard-source.ts';
import { diffSpecs } from '../../../controller/registry-source/spec-diff.ts';
import { formatProblem, loadRegistry } from '../../../registry/catalog/index.ts';
import type { Problem, ServerSpec } from '../../../registry/catalog/spec.ts';
import { waitFor } from '../support/processes.ts';
import { KubeletVolume } from './kubelet-volume.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

let specs: ServerSpec[];
const bySlug = (slug: string): ServerSpec => {
  const spec = specs.find((s) => s.slug === slug);
  assert.ok(spec, slug);
  return spec;
};
const shard = (...entries: unknown[]): string => JSON.stringify(entries);
const slugs = (list: readonly ServerSpec[]): string[] => list.map((s) => s.slug);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects what a watcher emits. */
function recorder() {
  const changes: ServerSpec[][] = [];
  const rejections: Problem[][] = [];
  return {
    changes,
    rejections,
    onChange: (next: ServerSpec[]) => changes.push(next),
    onRejected: (problems: Problem[]) => rejections.push(problems),
  };
}

describe('registry sources', function () {
  let base: string;
  before(async function () {
    const result = await loadRegistry(path.join(ROOT, 'registry/servers'));
    assert.deepEqual(result.problems, []);
    specs = result.specs;
  });
  beforeEach(async function () {
    base = await mkdtemp(path.join(tmpdir(), 'mcpfleet-source-'));
  });
  afterEach(async function () {
    await rm(base, { recursive: true, force: true });
  });

  describe('layout detection', function () {
    it('tells <slug>/server.json folders from *.json shards, ConfigMap volumes included', async function () {
      assert.equal(detectRegistryFormat(path.join(ROOT, 'registry/servers')), 'server-json');
      await writeFile(path.join(base, 'all.json'), shard(...specs));
      assert.equal(detectRegistryFormat(base), 'shards');

      const volume = path.join(base, 'volume');
      await mkdir(volume);
      await new KubeletVolume(volume).write({ 'mcpfleet-registry-0.json': shard(...specs) });
      assert.equal(detectRegistryFormat(volume), 'shards');
      assert.ok(openRegistrySource(volume) instanceof ShardDirectorySource);
    });

    it('refuses a directory that is neither, naming what it found', async function () {
      const cases: Array<[string, (dir: string) => Promise<void>, RegExp]> = [
        ['empty', async () => undefined, /is empty: expected either <slug>\/server\.json folders/],
        [
          'other files',
          async (dir) => writeFile(path.join(dir, 'README.md'), 'hi'),
          /holds neither layout \(found README\.md\)/,
        ],
        [
          'mixed',
          async (dir) => {
            await mkdir(path.join(dir, 'everything'));
            await writeFile(path.join(dir, 'all.json'), '[]');
          },
          /mixes server folders \(everything\/\) and \*\.json files \(all\.json\)/,
        ],
      ];
      for (const [name, setup, message] of cases) {
        const dir = path.join(base, name.replace(' ', '-'));
        await mkdir(dir);
        await setup(dir);
        assert.throws(
          () => detectRegistryFormat(dir),
          (err: Error) => {
            assert.ok(err instanceof RegistrySourceError, name);
            assert.match(err.message, message, name);
            return true;
          },
        );
      }
      assert.throws(() => detectRegistryFormat(path.join(base, 'missing')), /does not exist/);
      await writeFile(path.join(base, 'file.json'), '[]');
      assert.throws(() => detectRegistryFormat(path.join(base, 'file.json')), /is a file/);
    });
  });

  describe('compiled-spec shards', function () {
    it('loads every shard into one list sorted by slug', async function () {
      await writeFile(path.join(base, 'b.json'), shard(bySlug('memory'), bySlug('deepwiki')));
      await writeFile(path.join(base, 'a.json'), shard(bySlug('everything')));
      await writeFile(path.join(base, 'notes.txt'), 'ignored');
      const result = await openRegistrySource(base).load();
      assert.deepEqual(result.problems, []);
      assert.deepEqual(slugs(result.specs), ['deepwiki', 'everything', 'memory']);
      assert.deepEqual(result.specs[1], bySlug('everything'));
    });

    it('accepts exactly what `mcpfleet registry compile` and the ConfigMaps hold', async function () {
      const result = parseShard('x.json', Buffer.from(JSON.stringify(specs)));
      assert.deepEqual(result.problems, []);
      assert.deepEqual(result.specs, specs);
    });

    it("keeps a server's access block, and locates one of the wrong shape", function () {
      const access = { groups: ['sre'], keys: ['ci-*'], tools: { deny: ['delete_*'] } };
      const guarded = { ...bySlug('memory'), access };
      const kept = parseShard('x.json', Buffer.from(shard(guarded)));
      assert.deepEqual(kept.problems, []);
      assert.deepEqual(kept.specs[0]?.access, access);
      const wrong = { ...bySlug('memory'), access: { groups: 'sre' } };
      assert.deepEqual(
        parseShard('x.json', Buffer.from(shard(wrong))).problems.map(formatProblem),
        ['x.json: $[0].access.groups: expected array, got a string (server "memory")'],
      );
    });

    it('names the file, the entry index and the server in every problem', async function () {
      const broken = {
        ...bySlug('memory'),
        scaling: { ...bySlug('memory').scaling, idleTimeoutMs: '5m' },
      };
      const alien = { ...bySlug('deepwiki'), apiVersion: 'mcpfleet.dev/v2' };
      const problems = parseShard(
        'mcpfleet-registry-0.json',
        Buffer.from(shard(bySlug('everything'), broken, alien, { kind: 'thing', slug: 'odd' })),
      ).problems.map(formatProblem);
      assert.deepEqual(problems, [
        'mcpfleet-registry-0.json: $[1].scaling.idleTimeoutMs: expected number, got a string (server "memory")',
        'mcpfleet-registry-0.json: $[2].apiVersion: apiVersion "mcpfleet.dev/v2" is not one this controller reads ("mcpfleet.dev/v1"): compile the registry with the same mcpfleet version (server "deepwiki")',
        'mcpfleet-registry-0.json: $[3].kind: kind must be "workload" or "remote" (server "odd")',
      ]);
    });

    it('explains a file that is not a shard at all', function () {
      const message = (text: string): string =>
        parseShard('f.json', Buffer.from(text)).problems.map(formatProblem).join('\n');
      assert.match(
        message('{"name": "x", "packages": []}'),
        /f\.json: \$: a registry shard is a JSON array of compiled server specs, got an object: this looks like a server\.json/,
      );
      assert.match(message('[{"slug": '), /^f\.json: \$: invalid JSON: /);
      assert.match(message('\uFEFF[]'), /byte order mark/);
    });

    it('refuses a slug defined twice across shards, naming the first place', async function () {
      await writeFile(path.join(base, 'a.json'), shard(bySlug('memory')));
      await writeFile(path.join(base, 'b.json'), shard(bySlug('everything'), bySlug('memory')));
      const result = await openRegistrySource(base).load();
      assert.deepEqual(result.specs, []);
      assert.deepEqual(result.problems.map(formatProblem), [
        `${path.join(base, 'b.json')}: $[1].slug: server "memory" is already defined at ${path.join(base, 'a.json')}[0]; each slug may appear once across the shards`,
      ]);
    });
  });

  describe('reloading a ConfigMap volume', function () {
    this.timeout(20_000);
    let volume: KubeletVolume;
    let source: RegistrySource;
    let stop: (() => void) | undefined;

    beforeEach(async function () {
      volume = new KubeletVolume(base);
      await volume.write({
        'mcpfleet-registry-0.json': shard(bySlug('everything'), bySlug('memory')),
        'mcpfleet-registry-1.json': shard(bySlug('deepwiki')),
      });
      // A long poll: changes here are noticed through fs.watch.
      source = openRegistrySource(base, {
        logger: silentLogger(),
        watch: { debounceMs: 200, pollIntervalMs: 60_000 },
      });
      const loaded = await source.load();
      assert.deepEqual(slugs(loaded.specs), ['deepwiki', 'everything', 'memory']);
    });
    /** Past the watcher's start-up check: from here on, only fs.watch can notice a change. */
    const settled = () => sleep(400);
    afterEach(function () {
      stop?.();
      stop = undefined;
    });

    it('emits the new list when the kubelet swaps ..data (added, removed, changed)', async function () {
      const seen = recorder();
      stop = source.watch(seen.onChange, seen.onRejected);
      await settled();
      const changed = { ...bySlug('memory'), description: 'a new description' };
      await volume.write({
        'mcpfleet-registry-0.json': shard(bySlug('everything'), changed),
        'mcpfleet-registry-1.json': shard(bySlug('github')),
      });
      await waitFor(() => seen.changes.length === 1, 5_000, 'the reload');
      const next = seen.changes[0]!;
      assert.deepEqual(slugs(next), ['everything', 'github', 'memory']);
      assert.equal(next.find((s) => s.slug === 'memory')?.description, 'a new description');
      assert.deepEqual(
        diffSpecs([bySlug('everything'), bySlug('memory'), bySlug('deepwiki')], next),
        {
          added: ['github'],
          removed: ['deepwiki'],
          changed: ['memory'],
        },
      );
      assert.equal(seen.rejections.length, 0);
    });

    it('follows keys appearing and disappearing (a new shard, a dropped one)', async function () {
      const seen = recorder();
      stop = source.watch(seen.onChange, seen.onRejected);
      await settled();
      await volume.write({
        'mcpfleet-registry-0.json': shard(bySlug('everything')),
        'mcpfleet-registry-2.json': shard(bySlug('fetch'), bySlug('filesystem')),
      });
      await waitFor(() => seen.changes.length === 1, 5_000, 'the reload');
      assert.deepEqual(slugs(seen.changes[0]!), ['everything', 'fetch', 'filesystem']);
    });

    it('debounces a burst of swaps into one reload of the last state', async function () {
      const seen = recorder();
      stop = source.watch(seen.onChange, seen.onRejected);
      await settled();
      for (const slug of ['fetch', 'filesystem', 'github']) {
        await volume.write({ 'mcpfleet-registry-0.json': shard(bySlug(slug)) });
      }
      await waitFor(() => seen.changes.length >= 1, 5_000, 'the reload');
      await sleep(600);
      assert.deepEqual(seen.changes.map(slugs), [['github']]);
    });

    it('keeps the previous specs when a change fails validation, and takes the next good one', async function () {
      const seen = recorder();
      stop = source.watch(seen.onChange, seen.onRejected);
      await settled();
      await volume.write({
        'mcpfleet-registry-0.json': shard(bySlug('everything'), {
          ...bySlug('memory'),
          slug: 'Not A Slug',
        }),
        'mcpfleet-registry-1.json': '[',
      });
      await waitFor(() => seen.rejections.length === 1, 5_000, 'the rejection');
      const lines = seen.rejections[0]!.map(formatProblem);
      assert.ok(
        lines.some((l) => /mcpfleet-registry-0\.json: \$\[1\]\.slug: not a valid slug/.test(l)),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) => /mcpfleet-registry-1\.json: \$: invalid JSON/.test(l)),
        lines.join('\n'),
      );
      assert.equal(seen.changes.length, 0, 'nothing emitted: the old specs stay');

      await volume.write({ 'mcpfleet-registry-0.json': shard(bySlug('memory')) });
      await waitFor(() => seen.changes.length === 1, 5_000, 'the good reload');
      assert.deepEqual(slugs(seen.changes[0]!), ['memory']);
    });

    it('emits nothing for a swap to the same servers, and nothing after stop()', async function () {
      const seen = recorder();
      stop = source.watch(seen.onChange, seen.onRejected);
      await settled();
      // Same specs, re-sharded and re-serialized: a new hash, the same servers.
      await volume.write({
        'mcpfleet-registry-0.json': JSON.stringify(
          [bySlug('deepwiki'), bySlug('everything'), bySlug('memory')],
          null,
          2,
        ),
      });
      await sleep(700);
      assert.equal(seen.changes.length, 0);
      stop();
      stop = undefined;
      await volume.write({ 'mcpfleet-registry-0.json': shard(bySlug('github')) });
      await sleep(700);
      assert.equal(seen.changes.length, 0);
    });

    it('catches a change made between load() and watch()', async function () {
      await volume.write({ 'mcpfleet-registry-0.json': shard(bySlug('shebe')) });
      const seen = recorder();
      stop = source.watch(seen.onChange, seen.onRejected);
      await waitFor(() => seen.changes.length === 1, 5_000, 'the start-up check');
      assert.deepEqual(slugs(seen.changes[0]!), ['shebe']);
    });

    it('notices changes by polling content hashes where fs.watch is silent', async function () {
      const polling = openRegistrySource(base, {
        logger: silentLogger(),
        watch: { fsWatch: false, pollIntervalMs: 100 },
      });
      await polling.load();
      const seen = recorder();
      stop = polling.watch(seen.onChange, seen.onRejected);
      await volume.write({ 'mcpfleet-registry-0.json': shard(bySlug('fetch')) });
      await waitFor(() => seen.changes.length === 1, 5_000, 'the polled reload');
      assert.deepEqual(slugs(seen.changes[0]!), ['fetch']);
    });

    it('reads a plain directory of shard symlinks too (no ..data)', async function () {
      const plain = path.join(base, 'plain');
      await mkdir(plain);
      await symlink(
        path.join(base, '..data', 'mcpfleet-registry-1.json'),
        path.join(plain, 'one.json'),
      );
      const result = await openRegistrySource(plain).load();
      assert.deepEqual(slugs(result.specs), ['deepwiki']);
    });
  });
});
