// Builds etcd, kube-apiserver, kube-controller-manager and kube-scheduler from the Go module in
// test/cluster/controlplane, once per machine, into a cache folder keyed by the pinned versions.
// CLI: `node test/cluster/control-plane/build.ts` builds (or reuses) and prints the folder.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, accessSync, existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isRunning } from './pids.ts';

/** The Go module whose go.mod pins the versions and lists the four binaries as `tool`s. */
export const CONTROL_PLANE_MODULE = fileURLToPath(new URL('../controlplane/', import.meta.url));

/** Bump when the build recipe (flags, names) changes, so existing caches are rebuilt. */
const RECIPE = 2;

export interface ControlPlaneVersions {
  kubernetes: string;
  etcd: string;
  go: string;
}

export interface ControlPlaneBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  versions: ControlPlaneVersions;
}

interface Target {
  name: string;
  pkg: string;
  ldflags: string[];
}

function log(line: string): void {
  process.stderr.write(`control plane: ${line}\n`);
}

/** The version of `modulePath` that go.mod requires. */
function requiredVersion(goMod: string, modulePath: string): string {
  const escaped = modulePath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(goMod);
  if (!match?.[1]) throw new Error(`control plane: ${modulePath} is not required in go.mod`);
  return match[1];
}

/** The `go` command: PATH first, then the usual install location. */
function goCommand(): string {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    const result = spawnSync(candidate, ['env', 'GOVERSION'], { encoding: 'utf8' });
    if (result.status === 0) return candidate;
  }
  throw new Error(
    'control plane: the Go toolchain (`go`) was not found on PATH or at /usr/local/go/bin/go. ' +
      'The cluster tests build etcd and the Kubernetes control plane from source ' +
      `(${CONTROL_PLANE_MODULE}go.mod); install Go 1.26 or newer.`,
  );
}

function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'mcpfleet', 'control-plane');
}

/** Version stamps that `kubectl version` and clients such as Pulumi read from /version. */
function kubernetesLdflags(version: string): string[] {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const stamps = {
    gitVersion: version,
    gitMajor: major ?? '',
    gitMinor: minor ?? '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
  };
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) =>
    Object.entries(stamps).map(([name, value]) => `-X ${pkg}.${name}=${value}`),
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function binariesIn(dir: string, versions: ControlPlaneVersions): ControlPlaneBinaries {
  return {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    versions,
  };
}

function complete(binaries: ControlPlaneBinaries): boolean {
  return (
    existsSync(join(binaries.dir, 'versions.json')) &&
    [
      binaries.etcd,
      binaries.kubeApiserver,
      binaries.kubeControllerManager,
      binaries.kubeScheduler,
    ].every(isExecutable)
  );
}

/** Takes `path` as a lock file holding our PID; waits while a live process holds it. */
async function acquireLock(path: string): Promise<() => Promise<void>> {
  let announced = false;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(path).catch(() => {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(holder) || holder <= 0 || !isRunning(holder)) {
      // Stale (its process died) or being written this very moment: only remove a stale one.
      if (holder > 0) await unlink(path).catch(() => {});
      else await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    if (!announced) log(`waiting for process ${holder}, which is building the binaries…`);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function goBuild(go: string, target: Target, output: string): Promise<void> {
  // No -trimpath: it is part of every package's cache key, so it would throw away a Go build
  // cache warmed by a plain `go build` of the same module.
  const args = ['build', '-o', output];
  if (target.ldflags.length > 0) args.push(`-ldflags=${target.ldflags.join(' ')}`);
  args.push(target.pkg);
  const started = Date.now();
  const child = spawn(go, args, {
    cwd: CONTROL_PLANE_MODULE,
    env: { ...process.env, GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const ticker = setInterval(() => {
    log(`  still building ${target.name}: ${Math.round((Date.now() - started) / 1000)} s`);
  }, 30_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (status) => resolve(status));
    });
    if (code !== 0) {
      throw new Error(
        `control plane: \`go ${args.join(' ')}\` (in ${CONTROL_PLANE_MODULE}) exited with ` +
          `${code}:\n${stderr.trim()}`,
      );
    }
  } finally {
    clearInterval(ticker);
  }
  log(`  built ${target.name} in ${Math.round((Date.now() - started) / 1000)} s`);
}

let pending: Promise<ControlPlaneBinaries> | undefined;

/**
 * The four control-plane binaries, built on first use and then reused from
 * `${XDG_CACHE_HOME:-~/.cache}/mcpfleet/control-plane/<k8s>-<etcd>-<hash of go.mod+go.sum>/`.
 * versions.json is written last and marks a complete build; a build happens in a temporary
 * folder renamed into place, under a lock file, so concurrent test processes build once.
 */
export function ensureControlPlaneBinaries(): Promise<ControlPlaneBinaries> {
  pending ??= build().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

async function build(): Promise<ControlPlaneBinaries> {
  const goMod = readFileSync(join(CONTROL_PLANE_MODULE, 'go.mod'), 'utf8');
  const goSum = readFileSync(join(CONTROL_PLANE_MODULE, 'go.sum'), 'utf8');
  const kubernetes = requiredVersion(goMod, 'k8s.io/kubernetes');
  const etcd = requiredVersion(goMod, 'go.etcd.io/etcd/server/v3');
  const hash = createHash('sha256')
    .update(`recipe ${RECIPE}\n`)
    .update(goMod)
    .update('\0')
    .update(goSum)
    .digest('hex')
    .slice(0, 12);
  const root = cacheRoot();
  const dir = join(root, `k8s-${kubernetes}-etcd-${etcd}-${hash}`);

  const cached = await readFile(join(dir, 'versions.json'), 'utf8').catch(() => undefined);
  if (cached) {
    const binaries = binariesIn(dir, JSON.parse(cached) as ControlPlaneVersions);
    if (complete(binaries)) return binaries;
  }

  const go = goCommand();
  await mkdir(root, { recursive: true });
  const release = await acquireLock(`${dir}.lock`);
  try {
    // Another process may have finished the build while we waited for the lock.
    const built = await readFile(join(dir, 'versions.json'), 'utf8').catch(() => undefined);
    if (built) {
      const binaries = binariesIn(dir, JSON.parse(built) as ControlPlaneVersions);
      if (complete(binaries)) return binaries;
    }
    const goVersion = spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout.trim();
    const versions: ControlPlaneVersions = { kubernetes, etcd, go: goVersion };
    // Holding the lock, any other temporary folder of this key is left from an interrupted build.
    for (const name of await readdir(root)) {
      if (name.startsWith(`${basename(dir)}.tmp-`)) {
        await rm(join(root, name), { recursive: true, force: true });
      }
    }
    const tmp = `${dir}.tmp-${process.pid}`;
    await mkdir(tmp, { recursive: true });
    const ldflags = kubernetesLdflags(kubernetes);
    const targets: Target[] = [
      { name: 'etcd', pkg: 'go.etcd.io/etcd/server/v3', ldflags: [] },
      { name: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver', ldflags },
      {
        name: 'kube-controller-manager',
        pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager',
        ldflags,
      },
      { name: 'kube-scheduler', pkg: 'k8s.io/kubernetes/cmd/kube-scheduler', ldflags },
    ];
    const started = Date.now();
    try {
      for (const target of targets) {
        const version = target.name === 'etcd' ? etcd : kubernetes;
        log(`building ${target.name} ${version} (first run on this machine, several minutes)…`);
        await goBuild(go, target, join(tmp, target.name));
      }
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
    await writeFile(join(tmp, 'versions.json'), `${JSON.stringify(versions, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    log(`binaries ready in ${dir} (${Math.round((Date.now() - started) / 1000)} s)`);
    return binariesIn(dir, versions);
  } finally {
    await release();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  ensureControlPlaneBinaries().then(
    (binaries) => process.stdout.write(`${binaries.dir}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}

let kubectlPending: Promise<string> | undefined;

/**
 * kubectl of the same Kubernetes release, built from the same module on first use (tens of
 * seconds once the control plane's packages are in the Go build cache) into
 * `<cache>/kubectl-<k8s>-<hash of go.mod+go.sum>/kubectl`: what the runbooks tell an operator
 * to run, run for real against the test cluster.
 */
export function ensureKubectl(): Promise<string> {
  kubectlPending ??= buildKubectl().catch((error: unknown) => {
    kubectlPending = undefined;
    throw error;
  });
  return kubectlPending;
}

async function buildKubectl(): Promise<string> {
  const goMod = readFileSync(join(CONTROL_PLANE_MODULE, 'go.mod'), 'utf8');
  const goSum = readFileSync(join(CONTROL_PLANE_MODULE, 'go.sum'), 'utf8');
  const kubernetes = requiredVersion(goMod, 'k8s.io/kubernetes');
  const hash = createHash('sha256').update(goMod).update('\0').update(goSum).digest('hex');
  const root = cacheRoot();
  const dir = join(root, `kubectl-${kubernetes}-${hash.slice(0, 12)}`);
  const binary = join(dir, 'kubectl');
  if (isExecutable(binary)) return binary;
  await mkdir(root, { recursive: true });
  const release = await acquireLock(`${dir}.lock`);
  try {
    if (isExecutable(binary)) return binary;
    const tmp = `${dir}.tmp-${process.pid}`;
    await mkdir(tmp, { recursive: true });
    log(`building kubectl ${kubernetes} (first run on this machine)…`);
    const target = {
      name: 'kubectl',
      pkg: 'k8s.io/kubernetes/cmd/kubectl',
      ldflags: kubernetesLdflags(kubernetes),
    };
    try {
      await goBuild(goCommand(), target, join(tmp, 'kubectl'));
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return binary;
  } finally {
    await release();
  }
}
