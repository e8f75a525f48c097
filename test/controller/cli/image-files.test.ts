// The images run `mcpfleet` from only the files their Dockerfiles copy (controller/,
// registry/catalog/ and import/, package.json and the production node_modules): every command must load
// from that, with no infra/ or test/ import anywhere on the way. The controller image also
// starts with the Deployment's exact args and env against a ConfigMap-style registry volume.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadRegistry } from '../../../registry/catalog/index.ts';
import { request } from 'undici';
import { freePort } from '../support/free-port.ts';
import { waitFor } from '../support/processes.ts';
import { KubeletVolume } from '../registry-source/kubelet-volume.ts';
import { controllerContainer } from './controller-manifest.ts';
import { materializeImage, ROOT, type ImageLayout } from './image-layout.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(image: ImageLayout, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [image.bin, ...args],
      {
        cwd: image.workdir,
        env: { PATH: process.env.PATH, HOME: '/tmp', ...env },
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

const IMAGES: Array<[string, string[][]]> = [
  [
    'infra/images/controller.Dockerfile',
    [['--help'], ['serve', '--help'], ['bridge', '--help'], ['registry', '--help']],
  ],
  ['infra/images/runner-node.Dockerfile', [['--help'], ['bridge', '--help']]],
  ['infra/images/runner-python.Dockerfile', [['--help'], ['bridge', '--help']]],
];

describe('the image file sets', function () {
  this.timeout(60_000);

  for (const [dockerfile, commands] of IMAGES) {
    describe(path.basename(dockerfile), function () {
      let image: ImageLayout;
      before(async function () {
        image = await materializeImage(dockerfile);
      });
      after(async function () {
        await image?.cleanup();
      });

      it('copies the app and nothing of infra/', function () {
        assert.deepEqual(image.copied.sort(), [
          '/opt/mcpfleet/controller',
          '/opt/mcpfleet/package.json',
          '/opt/mcpfleet/registry/catalog',
          '/opt/mcpfleet/registry/import',
        ]);
      });

      for (const args of commands) {
        it(`runs mcpfleet ${args.join(' ')}`, async function () {
          const result = await run(image, args);
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stdout, /^Usage: mcpfleet/);
          assert.equal(result.stderr, '');
        });
      }

      it('says what registry render needs instead of crashing', async function () {
        const result = await run(image, ['registry', 'render', '--stack', 'dev']);
        assert.equal(result.code, 1);
        assert.equal(
          result.stderr,
          'mcpfleet registry render needs the infra/ folder: run it from a checkout of the repository\n',
        );
      });
    });
  }

  describe('the controller image, started', function () {
    let image: ImageLayout;
    let volume: string;
    before(async function () {
      image = await materializeImage('infra/images/controller.Dockerfile');
      const { specs, problems } = await loadRegistry(path.join(ROOT, 'registry/servers'));
      assert.deepEqual(problems, []);
      // Where the manifest mounts the registry ConfigMaps, under the image root.
      volume = path.join(image.root, 'etc/mcpfleet/registry');
      await mkdir(volume, { recursive: true });
      await new KubeletVolume(volume).write({
        'mcpfleet-registry-0.json': JSON.stringify(specs.slice(0, 4)),
        'mcpfleet-registry-1.json': JSON.stringify(specs.slice(4)),
      });
    });
    after(async function () {
      await image?.cleanup();
    });

    it('serves a registry volume of compiled specs (local runtime) and stops on SIGTERM', async function () {
      const serve = spawn(
        process.execPath,
        [image.bin, 'serve', '--port', '0', '--data-dir', 'memory://', '--log-level', 'warn'],
        {
          cwd: image.workdir,
          env: { PATH: process.env.PATH, HOME: '/tmp', MCPFLEET_REGISTRY_DIR: volume },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      try {
        let out = '';
        serve.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        serve.stderr!.on('data', (c: Buffer) => (out += c.toString()));
        await waitFor(
          () =>
            /listening on http:\/\/127\.0\.0\.1:\d+ \(8 servers/.test(out) ||
            serve.exitCode !== null,
          30_000,
          'the serve banner',
        );
        assert.match(out, /listening on http:\/\/127\.0\.0\.1:\d+ \(8 servers/, out);
        const exited = new Promise<number | null>((resolve) => serve.once('exit', resolve));
        serve.kill('SIGTERM');
        assert.equal(await exited, 0, out);
      } finally {
        if (serve.exitCode === null) serve.kill('SIGKILL');
      }
    });

    it("starts with the Deployment's exact args and env (in-cluster config, 0.0.0.0)", async function () {
      const container = controllerContainer({
        DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
        REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      });
      assert.equal(container.env.MCPFLEET_REGISTRY_DIR, '/etc/mcpfleet/registry');
      const port = await freePort();
      const serve = spawn(
        process.execPath,
        // The manifest's args; a later --port wins, so a busy 8080 here cannot fail the test.
        [image.bin, ...container.args, '--port', String(port)],
        {
          cwd: image.workdir,
          env: {
            PATH: process.env.PATH,
            ...container.env,
            // The one path that cannot be the real one outside a container.
            MCPFLEET_REGISTRY_DIR: volume,
            // What the kubelet sets in every pod: the in-cluster config is chosen. There is no
            // API server behind it, so the Kubernetes runtime keeps retrying.
            KUBERNETES_SERVICE_HOST: '127.0.0.1',
            KUBERNETES_SERVICE_PORT: String(await freePort()),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      serve.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      serve.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const banner = new RegExp(`listening on http://0\\.0\\.0\\.0:${port} `);
      try {
        // Options, the registry volume, PostgreSQL and Redis have to pass for the process to
        // live on; whether it listens before the cluster answers is the runtime's business.
        await waitFor(
          () => serve.exitCode !== null || banner.test(stdout),
          8_000,
          'exit or banner',
        ).catch(() => undefined);
        assert.equal(serve.exitCode, null, `exited: ${stderr}${stdout.slice(0, 2000)}`);
        assert.equal(stderr, '');
        if (banner.test(stdout)) {
          const status = async (host: string): Promise<number> =>
            (await request(`http://127.0.0.1:${port}/api/v1/servers`, { headers: { host } }))
              .statusCode;
          // Its own names pass the Host check and reach the access gate: API keys are on (the
          // Secret's key-hashing secret), so a caller without one gets 401, never an open API.
          assert.equal(await status(new URL(container.publicUrl).host), 401);
          assert.equal(await status(`mcpfleet-controller.${container.namespace}.svc:80`), 401);
          assert.equal(await status('evil.example'), 403);
        }
      } finally {
        serve.kill('SIGKILL');
      }
    });
  });
});
