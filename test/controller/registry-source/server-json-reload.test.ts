// `npm start` on the source registry (registry/servers/<slug>/server.json): a server added,
// changed or removed in the checkout is served without a restart; a change that breaks a
// file keeps the last good servers, and `mcpfleet status` and /api/v1/registry say why.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RegistryStatusView } from '../../../controller/api/types.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import { waitFor } from '../support/processes.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);

describe('startController on a source registry that changes while it runs', function () {
  this.timeout(30_000);
  let dir: string;
  let controller: RunningController;
  let everything: { name: string; [key: string]: unknown };

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-source-'));
    await cp(path.join(ROOT, 'registry/servers/everything'), path.join(dir, 'everything'), {
      recursive: true,
    });
    everything = JSON.parse(
      await readFile(path.join(dir, 'everything/server.json'), 'utf8'),
    ) as typeof everything;
    controller = await startController({
      registryDir: dir,
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
      registryWatch: { debounceMs: 50, pollIntervalMs: 500 },
    });
  });
  after(async function () {
    await controller?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const slugs = () => controller.fleet.list().map((s) => s.slug);
  const registry = async () =>
    (await (await fetch(`${controller.url}/api/v1/registry`)).json()) as RegistryStatusView;
  const addServer = async (slug: string, text: string) => {
    await mkdir(path.join(dir, slug), { recursive: true });
    await writeFile(path.join(dir, slug, 'server.json'), text);
  };

  it('serves a server added to the checkout, without a restart', async () => {
    assert.deepEqual(slugs(), ['everything']);
    await addServer(
      'second',
      JSON.stringify({ ...everything, name: 'io.example/second', title: 'Second' }),
    );
    await waitFor(() => slugs().includes('second'), 10_000, 'the new server');
    const status = await registry();
    assert.equal(status.format, 'server-json');
    assert.equal(status.servers, 2);
    assert.equal(status.lastChange?.outcome, 'applied');
  });

  it('keeps the last good servers when a file breaks, and says why in status', async () => {
    await writeFile(path.join(dir, 'second', 'server.json'), '{ "name": ');
    await waitFor(
      async () => (await registry()).lastChange?.outcome === 'rejected',
      10_000,
      'the rejected change',
    );
    assert.deepEqual(slugs(), ['everything', 'second'], 'still serving both');
    const status = await registry();
    assert.match(status.lastChange!.problems.join('\n'), /second[/\\]server\.json.*invalid JSON/);
    const { stdout } = await run(process.execPath, [
      path.join(ROOT, 'controller/cli/bin.js'),
      'status',
      '--url',
      controller.url,
    ]);
    assert.match(
      stdout,
      /the last change \(.*\) was rejected; still serving the previous 2 servers/,
    );
    assert.match(stdout, /second[/\\]server\.json/);
  });

  it('drops a server removed from the checkout once the registry is valid again', async () => {
    await rm(path.join(dir, 'second'), { recursive: true });
    await waitFor(() => !slugs().includes('second'), 10_000, 'the server to go');
    assert.equal((await registry()).lastChange?.outcome, 'applied');
  });
});
