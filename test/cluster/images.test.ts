// Images materialized from their own Dockerfiles (test/cluster/images/), run with the image's
// files only. A file a Dockerfile forgets to COPY fails here as it would in the real image.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { contextSources, isIgnored, openContext } from './images/context.ts';
import { readDockerfile } from './images/dockerfile.ts';
import { containerArgv, type ImageLayout } from './images/layout.ts';
import { materializeImage } from './images/materialize.ts';
import { ourImages } from './images/our-images.ts';
import { execInContainer, runInImage, type RunInImageOptions } from './images/run-in-image.ts';
import { shellCommands, dockerfileWords } from './images/words.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
interface DevConfig {
  'mcpfleet:controller': { image: string };
  'mcpfleet:images': { runners: { node: string; python: string } };
  'mcpfleet:dataStores': { postgres: { image: string }; redis: { image: string } };
}
const dev = (
  parse(readFileSync(join(repoRoot, 'Pulumi.dev.yaml'), 'utf8')) as { config: DevConfig }
).config;
const CONTROLLER = dev['mcpfleet:controller'].image;
const RUNNER_NODE = dev['mcpfleet:images'].runners.node;
const RUNNER_PYTHON = dev['mcpfleet:images'].runners.python;
const POSTGRES = dev['mcpfleet:dataStores'].postgres.image;
const REDIS = dev['mcpfleet:dataStores'].redis.image;

const github = JSON.parse(
  readFileSync(join(repoRoot, 'registry/servers/github/server.json'), 'utf8'),
) as { packages: { identifier: string; version: string }[] } & { version: string };
const GITHUB_MCP_SERVER = `${github.packages[0]!.identifier}:${github.packages[0]!.version}`;

const isRoot = process.getuid?.() === 0;
const canUnshare = isRoot && spawnSync('unshare', ['--mount', 'true']).status === 0;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function finish(child: ChildProcess, timeoutMs = 60_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function run(
  layout: ImageLayout,
  argv: string[],
  options: RunInImageOptions = {},
): Promise<Outcome> {
  return finish(runInImage(layout, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

function explain(o: Outcome): string {
  return `exit ${o.code} ${o.signal ?? ''}\nstdout:\n${o.stdout}\nstderr:\n${o.stderr}`;
}

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A temp copy of a Dockerfile of ours, changed by `edit` (the build context stays the checkout). */
function editedDockerfile(name: string, edit: (lines: string[]) => string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpfleet-dockerfile-'));
  tempDirs.push(dir);
  const path = join(dir, name);
  const lines = readFileSync(join(repoRoot, 'infra/images', name), 'utf8').split('\n');
  writeFileSync(path, edit(lines).join('\n'));
  return path;
}

describe('cluster images: reading Dockerfiles', () => {
  it('reads instructions, flags, continuations and exec/shell forms', () => {
    const df = readDockerfile(
      'test.Dockerfile',
      [
        'FROM node:22.23-bookworm-slim AS deps',
        'COPY --from=deps /a /b',
        'RUN apt-get update && apt-get install -y unzip \\',
        '  # a comment inside the continuation',
        '  && rm -rf /var/lib/apt/lists/*',
        'ENTRYPOINT ["node", "/opt/x.js"]',
        'CMD serve --port 1',
      ].join('\n'),
    );
    assert.deepEqual(
      df.instructions.map((i) => [i.line, i.keyword]),
      [
        [1, 'FROM'],
        [2, 'COPY'],
        [3, 'RUN'],
        [6, 'ENTRYPOINT'],
        [7, 'CMD'],
      ],
    );
    assert.equal(df.instructions[1]!.text, '--from=deps /a /b');
    assert.equal(
      df.instructions[2]!.text,
      'apt-get update && apt-get install -y unzip   && rm -rf /var/lib/apt/lists/*',
    );
    assert.deepEqual(df.instructions[3]!.json, ['node', '/opt/x.js']);
    assert.equal(df.instructions[4]!.json, undefined);
  });

  it('expands variables as Docker does and refuses shell operators in RUN', () => {
    const vars = new Map([
      ['PATH', '/usr/bin'],
      ['A', 'x'],
    ]);
    assert.deepEqual(dockerfileWords('PATH=/opt/bin:$PATH B="${A} y" C=\'$A\' D=${U:-d}', vars), [
      'PATH=/opt/bin:/usr/bin',
      'B=x y',
      'C=$A',
      'D=d',
    ]);
    assert.deepEqual(
      shellCommands('npm ci --omit=dev && chmod +x "a b"', vars).map((c) => c.map((w) => w.value)),
      [
        ['npm', 'ci', '--omit=dev'],
        ['chmod', '+x', 'a b'],
      ],
    );
    for (const line of ['curl x | sh', 'a; b', 'a || b', 'echo $(id)', 'echo x > f'])
      assert.throws(() => shellCommands(line, vars), /not supported/, line);
  });

  it('honours a .dockerignore the way Docker matches it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpfleet-context-'));
    for (const file of [
      'a/b.ts',
      'a/b.test.ts',
      'node_modules/x/i.js',
      'keep.md',
      'x.md',
      'docs/x.md',
    ]) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), file);
    }
    writeFileSync(
      join(dir, '.dockerignore'),
      '# comment\n**/*.test.ts\nnode_modules\n*.md\n!keep.md\n',
    );
    const context = openContext(dir);
    const ignored = (rel: string) => isIgnored(context, rel);
    assert.equal(ignored('a/b.test.ts'), true);
    assert.equal(ignored('a/b.ts'), false);
    assert.equal(ignored('node_modules/x/i.js'), true);
    assert.equal(ignored('x.md'), true);
    assert.equal(ignored('docs/x.md'), false);
    assert.equal(ignored('keep.md'), false);
    assert.deepEqual(contextSources(context, 'a/*.ts'), ['a/b.ts']);
    assert.throws(() => contextSources(context, 'node_modules'), /excluded by/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps the stack config image refs to our Dockerfiles', () => {
    const images = ourImages(repoRoot);
    const find = (ref: string) =>
      images.find((i) => ref.startsWith(`${i.repository}:`))?.dockerfile;
    assert.equal(find(CONTROLLER), 'infra/images/controller.Dockerfile');
    assert.equal(find(RUNNER_NODE), 'infra/images/runner-node.Dockerfile');
    assert.equal(find(RUNNER_PYTHON), 'infra/images/runner-python.Dockerfile');
  });

  it('fails on an image that is neither ours nor in the third-party table', async () => {
    const path = editedDockerfile('controller.Dockerfile', (lines) =>
      lines.map((l) =>
        l.startsWith('FROM node:22.23-bookworm-slim AS deps') ? 'FROM alpine:3.20 AS deps' : l,
      ),
    );
    await assert.rejects(
      materializeImage(CONTROLLER, { dockerfile: path }),
      (error: Error) =>
        /controller\.Dockerfile:5: no way to materialize the image alpine:3\.20/.test(
          error.message,
        ) && error.message.includes('third-party-images.ts'),
    );
  });
});

describe('cluster images: materialized and run with their own files', function () {
  // A cold run installs the images' npm dependencies (npm ci) from the registry.
  this.timeout(15 * 60_000);

  before(function () {
    if (!canUnshare) this.skip();
  });

  it('controller: `mcpfleet --help` runs from the image (ENTRYPOINT + args), as uid 10001', async () => {
    const layout = await materializeImage(CONTROLLER);
    assert.equal(layout.user, '10001:10001');
    assert.deepEqual(layout.entrypoint, ['node', '/opt/mcpfleet/controller/cli/bin.js']);
    assert.deepEqual(layout.cmd, ['serve']);
    const id = await run(layout, ['id', '-u']);
    assert.equal(id.stdout.trim(), '10001', explain(id));

    const help = await run(layout, containerArgv(layout, { args: ['--help'] }), {
      readOnlyRootFilesystem: true,
      noNewPrivileges: true,
    });
    assert.equal(help.code, 0, explain(help));
    assert.match(help.stdout, /Usage: mcpfleet/);
  });

  it("controller and runners install the controller workspace's dependencies only, not Pulumi's", async () => {
    for (const ref of [CONTROLLER, RUNNER_NODE, RUNNER_PYTHON]) {
      const layout = await materializeImage(ref);
      const modules = join(layout.rootfs, 'opt/mcpfleet/node_modules');
      assert.ok(existsSync(join(modules, '@kubernetes/client-node')), `${ref}: the runtime's`);
      assert.ok(!existsSync(join(modules, '@pulumi')), `${ref}: no @pulumi/* in the image`);
      const mb = Number(
        spawnSync('du', ['-sm', modules], { encoding: 'utf8' }).stdout.split('\t')[0],
      );
      console.log(`      ${ref}: node_modules ${mb} MB`);
      assert.ok(mb < 200, `${ref}: node_modules is ${mb} MB`);
    }
  });

  it('runner-node: `mcpfleet bridge --help` through the /usr/local/bin/mcpfleet symlink', async () => {
    const layout = await materializeImage(RUNNER_NODE);
    assert.equal(layout.workingDir, '/srv/mcp');
    const help = await run(layout, ['mcpfleet', 'bridge', '--help']);
    assert.equal(help.code, 0, explain(help));
    assert.match(help.stdout, /Usage: mcpfleet bridge/);
    // The runtime user owns its working directory (RUN chown 10001:10001 /srv/mcp).
    const write = await run(layout, ['sh', '-c', 'touch /srv/mcp/x && ls -ln /srv/mcp/x']);
    assert.equal(write.code, 0, explain(write));
  });

  it('runner-python: Python 3.12, uv and uvx, and the bridge', async () => {
    const layout = await materializeImage(RUNNER_PYTHON);
    const out = await run(layout, [
      'sh',
      '-ec',
      'python3 --version; python3 -c "import ssl, sqlite3; print(ssl.OPENSSL_VERSION)"; uv --version; uvx --version; mcpfleet bridge --help',
    ]);
    assert.equal(out.code, 0, explain(out));
    assert.match(out.stdout, /^Python 3\.12\./m);
    assert.match(out.stdout, /^uv 0\.8\./m);
    assert.match(out.stdout, /Usage: mcpfleet bridge/);
  });

  it('a Dockerfile that forgets a COPY makes the image fail to run', async () => {
    const path = editedDockerfile('controller.Dockerfile', (lines) =>
      lines.filter((l) => l.trim() !== 'COPY package.json ./'),
    );
    const layout = await materializeImage(CONTROLLER, { dockerfile: path });
    const help = await run(layout, containerArgv(layout, { args: ['--help'] }));
    assert.notEqual(help.code, 0, explain(help));
    assert.match(help.stderr, /ERR_MODULE_NOT_FOUND/);
    assert.match(help.stderr, /\/opt\/mcpfleet\/package\.json/);
  });

  it('refuses a RUN step it does not know, naming the Dockerfile line', async () => {
    let line = 0;
    const path = editedDockerfile('controller.Dockerfile', (lines) => {
      const at = lines.findIndex((l) => l.startsWith('COPY controller'));
      line = at + 1;
      return [
        ...lines.slice(0, at),
        'RUN curl -fsSL https://example.invalid/setup.sh -o /tmp/setup.sh',
        ...lines.slice(at),
      ];
    });
    await assert.rejects(materializeImage(CONTROLLER, { dockerfile: path }), (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`controller\\.Dockerfile:${line}: RUN step "curl -fsSL`),
      );
      assert.match(error.message, /run-steps\.ts/);
      return true;
    });
  });

  it("github-mcp-server: built from its Go module, at the image's entrypoint path", async function () {
    const layout: ImageLayout = await materializeImage(GITHUB_MCP_SERVER);
    assert.deepEqual(containerArgv(layout), ['/server/github-mcp-server', 'stdio']);
    const out = await run(layout, containerArgv(layout, { args: ['--version'] }));
    assert.equal(out.code, 0, explain(out));
    assert.match(out.stdout + out.stderr, new RegExp(github.version.replace(/\./g, '\\.')));
  });

  describe('data stores in a network namespace, as their pods run them', () => {
    const netns = `mcpfleet-images-${process.pid}`;
    const dirs: string[] = [];
    const scratch = (owner: number) => {
      const dir = mkdtempSync(join(tmpdir(), 'mcpfleet-volume-'));
      chownSync(dir, owner, owner);
      dirs.push(dir);
      return dir;
    };
    const inNetns = (argv: string[], env: Record<string, string> = {}) =>
      spawnSync('ip', ['netns', 'exec', netns, ...argv], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
    const until = async (what: string, check: () => boolean, ms = 60_000) => {
      for (
        const end = Date.now() + ms;
        Date.now() < end;
        await new Promise((r) => setTimeout(r, 250))
      )
        if (check()) return;
      throw new Error(`timed out waiting for ${what}`);
    };
    const children: ChildProcess[] = [];

    before(() => {
      assert.equal(spawnSync('ip', ['netns', 'add', netns]).status, 0);
      assert.equal(spawnSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']).status, 0);
    });
    after(() => {
      for (const child of children) child.kill('SIGKILL');
      spawnSync('ip', ['netns', 'del', netns]);
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it('postgres: the entrypoint initializes PGDATA as the official image does and serves on 5432', async () => {
      const layout = await materializeImage(POSTGRES);
      const data = scratch(999);
      const env = {
        POSTGRES_DB: 'mcpfleet',
        POSTGRES_USER: 'mcpfleet',
        POSTGRES_PASSWORD: 'not-a-secret',
        PGDATA: '/var/lib/postgresql/data/pgdata',
      };
      const child = runInImage(layout, containerArgv(layout), {
        env,
        user: '999:999',
        groups: [999],
        netns,
        readOnlyRootFilesystem: true,
        noNewPrivileges: true,
        mounts: [
          { source: data, target: '/var/lib/postgresql/data' },
          { source: scratch(999), target: '/var/run/postgresql' },
          { source: scratch(999), target: '/tmp' },
        ],
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let log = '';
      child.stdout!.on('data', (c: Buffer) => (log += c));
      child.stderr!.on('data', (c: Buffer) => (log += c));
      await until(
        'postgres on 127.0.0.1:5432',
        () => inNetns(['pg_isready', '-h', '127.0.0.1', '-p', '5432']).status === 0,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${log}`);
      });
      // (spawnSync above blocks the event loop: let the child's output arrive.)
      await until('the end of the init process in the log', () =>
        log.includes('PostgreSQL init process complete'),
      );
      const query = inNetns(
        [
          'psql',
          '-h',
          '127.0.0.1',
          '-U',
          'mcpfleet',
          '-d',
          'mcpfleet',
          '-tAc',
          'select current_user',
        ],
        { PGPASSWORD: 'not-a-secret' },
      );
      assert.equal(query.stdout.trim(), 'mcpfleet', query.stderr);
      // As in the official image: trust for connections from inside the pod (initdb's default),
      // the password for everyone else.
      const hba = readFileSync(join(data, 'pgdata', 'pg_hba.conf'), 'utf8');
      assert.match(hba, /^host all all all scram-sha-256$/m);
      // The pod's readiness probe is an exec in the container.
      const probe = await finish(
        execInContainer(child.pid!, layout, ['pg_isready', '-U', 'mcpfleet', '-d', 'mcpfleet'], {
          user: '999:999',
        }),
      );
      assert.equal(probe.code, 0, explain(probe));
      child.kill(layout.stopSignal as NodeJS.Signals);
      const exit = await finish(child);
      assert.equal(exit.code, 0, log);
    });

    it('redis: the pod arguments go to redis-server, which requires the password', async () => {
      const layout = await materializeImage(REDIS);
      const child = runInImage(
        layout,
        containerArgv(layout, {
          args: ['--requirepass', 'not-a-secret', '--appendonly', 'yes', '--dir', '/data'],
        }),
        {
          user: '999:999',
          netns,
          readOnlyRootFilesystem: true,
          mounts: [
            { source: scratch(999), target: '/data' },
            { source: scratch(999), target: '/tmp' },
          ],
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.push(child);
      await until('redis on 127.0.0.1:6379', () =>
        inNetns(['redis-cli', 'ping']).stdout.includes('NOAUTH'),
      );
      const ping = inNetns(['redis-cli', '--no-auth-warning', '-a', 'not-a-secret', 'ping']);
      assert.equal(ping.stdout.trim(), 'PONG', ping.stderr);
      child.kill('SIGTERM');
      await finish(child);
    });
  });
});
