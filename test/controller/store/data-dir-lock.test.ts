// One controller per embedded data directory: a second `mcpfleet serve` on the same
// .mcpfleet/pgdata refuses to start (exit 1, naming the first), instead of running a second
// PGlite over the same files and losing writes; the lock goes with its holder, released on a
// clean exit and taken over once stale after a kill -9.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataDirLockedError, lockDataDir } from '../../../controller/store/data-dir-lock.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { spawnServe, startServe, type ServeProcess } from '../fleet/serve-process.ts';

const LOCK_MODULE = fileURLToPath(
  new URL('../../../controller/store/data-dir-lock.ts', import.meta.url),
);

describe('the embedded data directory lock', function () {
  this.timeout(120_000);
  let dir: string;
  const started: ServeProcess[] = [];
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-lock-'));
  });
  afterEach(async function () {
    for (const serve of started.splice(0)) await serve.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a second controller on the same data directory exit 1 with a clear message', async function () {
    const dataDir = path.join(dir, 'pgdata');
    const first = await startServe([stdioFixture('lock-echo', 'normal')], ['--data-dir', dataDir]);
    started.push(first);
    assert.ok(first.base, first.output());

    const second = await spawnServe(['--registry', 'registry/servers', '--data-dir', dataDir]);
    started.push(second);
    assert.equal(await second.exited, 1, second.output());
    assert.match(
      second.output(),
      new RegExp(
        `mcpfleet serve: .*the data directory ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ` +
          `is in use by another controller \\(pid ${first.child.pid} `,
      ),
    );
    assert.doesNotMatch(second.output(), /\n\s+at /, 'no stack trace');

    // A clean exit releases it: the next controller starts on the same data.
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    const third = await startServe([stdioFixture('lock-echo', 'normal')], ['--data-dir', dataDir]);
    started.push(third);
    assert.ok(third.base, third.output());
  });

  it('refuses while its holder lives, and takes it over once stale after the holder was killed', async function () {
    const dataDir = path.join(dir, 'pgdata');
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)});
         await lockDataDir(process.argv[1], { staleMs: 2000 });
         console.log('locked');
         setInterval(() => {}, 1000);`,
        dataDir,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('locked')) resolve();
        });
        holder.once('exit', () => reject(new Error('the holder exited before locking')));
      });
      await assert.rejects(
        lockDataDir(dataDir, { staleMs: 2000 }),
        (err: Error) =>
          err instanceof DataDirLockedError && err.message.includes(`pid ${holder.pid} `),
      );
      holder.kill('SIGKILL'); // no exit handler runs: the lock stays behind, and goes stale
      await exited;
      const release = await lockDataDir(dataDir, { staleMs: 2000 });
      await release();
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
