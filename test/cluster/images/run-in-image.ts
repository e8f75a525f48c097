// runInImage: runs a command inside a materialized image, as a container runtime would, with the
// image's files only. The process kubelet starts containers with it.
//
// The container gets a mount namespace of its own (`unshare --mount`, as root) whose root is a
// fresh tree: an overlay with the image's rootfs as the read-only lower layer and a tmpfs upper
// layer (writes vanish with the container; the cached rootfs is never changed), the host
// directories standing in for the base image's OS (/usr, /etc) as copy-on-write overlays too,
// with the paths the image owns (/usr/local, /etc/passwd) put back on top, a minimal /dev,
// /proc, /sys, then the
// base mounts and the caller's volumes, placed from inside the new root so symlinks resolve in
// the container's view. The command is exec'd through chroot and setpriv as the image's user,
// with exactly the container's environment, so the returned ChildProcess *is* the container
// process (its pid, its exit code, signals go to it).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { ImageLayout, Mount } from './layout.ts';

export interface RunInImageOptions {
  /** Added to (and overriding) the image's ENV. */
  env?: Record<string, string>;
  /** Volumes: host paths at absolute container paths, in order (later ones may nest in earlier). */
  mounts?: Mount[];
  /** Default: the image's WORKDIR. Created when missing, as runc does. */
  workingDir?: string;
  /** `uid[:gid]`, numeric. Default: the image's USER. */
  user?: string;
  /** Supplementary groups (Kubernetes fsGroup and supplementalGroups). */
  groups?: number[];
  /** Run in the network namespace /run/netns/<name> (as `ip netns add` creates). */
  netns?: string;
  /** A UTS namespace with this hostname (and HOSTNAME in the environment). */
  hostname?: string;
  /** Kubernetes readOnlyRootFilesystem: the container's root, not its volumes, is read-only. */
  readOnlyRootFilesystem?: boolean;
  /** Kubernetes allowPrivilegeEscalation: false. */
  noNewPrivileges?: boolean;
  stdio?: StdioOptions;
}

/** Setup failures exit with this code (docker run uses 125 for its own errors). */
export const SETUP_FAILED = 125;

const STAGING = '/run/mcpfleet-images/root';
const SH = '/bin/sh';
const tool = (name: string): string => {
  for (const dir of ['/usr/bin', '/usr/sbin', '/bin', '/sbin'])
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  throw new Error(`runInImage needs ${name} (util-linux / coreutils) on this host`);
};

export function runInImage(
  layout: ImageLayout,
  argv: string[],
  options: RunInImageOptions = {},
): ChildProcess {
  if (process.getuid?.() !== 0)
    throw new Error('runInImage needs root (it builds a mount namespace)');
  if (argv.length === 0)
    throw new Error(`runInImage ${layout.ref}: no command (the image has no ENTRYPOINT or CMD)`);
  if (!layout.hostDirs.includes('/usr'))
    throw new Error(
      `runInImage ${layout.ref}: images without a Debian base (FROM scratch) cannot be run here`,
    );
  const mount = tool('mount');
  const unshare = tool('unshare');
  const setpriv = tool('setpriv');
  const chroot = tool('chroot');
  // Every tool by absolute path: the setup shells run with the container's environment (PATH too).
  const mkdir = q(tool('mkdir'));
  const touch = q(tool('touch'));
  const ln = q(tool('ln'));
  const rm = q(tool('rm'));
  const rmdir = q(tool('rmdir'));
  mkdirSync(STAGING, { recursive: true });

  const workingDir = options.workingDir ?? layout.workingDir;
  const { uid, gid } = numericUser(layout, options.user);
  const env = containerEnv(layout, options, uid);

  // Phase 1, in the new mount namespace with the host's view: build the root under $S/root.
  const S = STAGING;
  const NR = `${S}/root`;
  const p1: string[] = [
    'set -u',
    `fail() { echo "runInImage ${shellSafe(layout.ref)}: $*" >&2; exit ${SETUP_FAILED}; }`,
    `M=${q(mount)}`,
    `$M -n -t tmpfs -o mode=0755 mcpfleet-container ${q(S)} || fail tmpfs`,
    `${mkdir} ${q(`${S}/upper`)} ${q(`${S}/work`)} ${q(NR)} ${q(`${S}/keep`)} || fail mkdir`,
    `$M -n -t overlay overlay -o ${q(`lowerdir=${layout.rootfs},upperdir=${S}/upper,workdir=${S}/work`)} ${q(NR)} || fail overlay`,
  ];
  // What the image owns under the host dirs (/usr/local...): kept aside, put back on top.
  layout.shadowed.forEach((path, i) => {
    const keep = `${S}/keep/${i}`;
    const isDir = lstatSync(join(layout.rootfs, path)).isDirectory();
    p1.push(
      `${isDir ? mkdir : touch} ${q(keep)} && $M -n --bind ${q(NR + path)} ${q(keep)} || fail keep ${q(path)}`,
    );
  });
  // The host's OS directories, copy-on-write: the container may write there (a mount point
  // under /etc, say), the host never sees it.
  layout.hostDirs.forEach((dir, i) => {
    const upper = `${S}/host/${i}`;
    p1.push(
      `${mkdir} -p ${q(`${upper}/upper`)} ${q(`${upper}/work`)} ${q(NR + dir)} && $M -n -t overlay overlay -o ${q(`lowerdir=${dir},upperdir=${upper}/upper,workdir=${upper}/work`)} ${q(NR + dir)} || fail host ${q(dir)}`,
    );
  });
  layout.shadowed.forEach((path, i) =>
    p1.push(`$M -n --move ${q(`${S}/keep/${i}`)} ${q(NR + path)} || fail restore ${q(path)}`),
  );
  p1.push(
    `${mkdir} -p ${q(`${NR}/dev`)} ${q(`${NR}/proc`)} ${q(`${NR}/sys`)} || fail mkdir`,
    `$M -n -t tmpfs -o mode=0755,nosuid devfs ${q(`${NR}/dev`)} || fail dev`,
    ...['null', 'zero', 'full', 'random', 'urandom', 'tty'].map(
      (d) =>
        `${touch} ${q(`${NR}/dev/${d}`)} && $M -n --bind /dev/${d} ${q(`${NR}/dev/${d}`)} || fail /dev/${d}`,
    ),
    `${mkdir} ${q(`${NR}/dev/shm`)} ${q(`${NR}/dev/pts`)} && $M -n -t tmpfs -o mode=1777,nosuid,nodev shm ${q(`${NR}/dev/shm`)} || fail shm`,
    `${ln} -s /proc/self/fd ${q(`${NR}/dev/fd`)}; ${ln} -s /proc/self/fd/0 ${q(`${NR}/dev/stdin`)}; ${ln} -s /proc/self/fd/1 ${q(`${NR}/dev/stdout`)}; ${ln} -s /proc/self/fd/2 ${q(`${NR}/dev/stderr`)}`,
    `$M -n -t proc proc ${q(`${NR}/proc`)} 2>/dev/null || $M -n --rbind /proc ${q(`${NR}/proc`)} || fail proc`,
    `$M -n --rbind /sys ${q(`${NR}/sys`)} && $M -n -o remount,bind,ro ${q(`${NR}/sys`)} || fail sys`,
    `${mkdir} ${q(`${NR}/.mcpfleet-stage`)} || fail stage`,
  );
  if (options.hostname) p1.push(`${q(tool('hostname'))} ${q(options.hostname)} || fail hostname`);

  // Base mounts, then volumes: staged from the host, moved into place from inside the root.
  const mounts = [...layout.baseMounts, ...(options.mounts ?? [])];
  const p2: string[] = [
    'set -u',
    `fail() { echo "runInImage ${shellSafe(layout.ref)}: $*" >&2; exit ${SETUP_FAILED}; }`,
    `M=${q(mount)}`,
  ];
  mounts.forEach((m, i) => {
    if (!posix.isAbsolute(m.target))
      throw new Error(`runInImage: mount target ${m.target} is not absolute`);
    const isDir = statSync(m.source).isDirectory();
    const staged = `/.mcpfleet-stage/${i}`;
    p1.push(
      `${isDir ? mkdir : touch} ${q(NR + staged)} && $M -n --rbind ${q(m.source)} ${q(NR + staged)} || fail mount ${q(m.source)}`,
    );
    p2.push(
      isDir
        ? `${mkdir} -p ${q(m.target)} || fail mkdir ${q(m.target)}`
        : `{ [ -e ${q(m.target)} ] || { ${mkdir} -p ${q(posix.dirname(m.target))} && ${touch} ${q(m.target)}; }; } || fail touch ${q(m.target)}`,
      `$M -n --move ${q(staged)} ${q(m.target)} || fail move ${q(m.target)}`,
      ...(m.readOnly ? [`$M -n -o remount,bind,ro ${q(m.target)} || fail ro ${q(m.target)}`] : []),
      `${isDir ? rmdir : `${rm} -f`} ${q(staged)}`,
    );
  });
  p2.push(`${rmdir} /.mcpfleet-stage`, `${mkdir} -p ${q(workingDir)} || fail workdir`);
  if (options.readOnlyRootFilesystem)
    for (const path of ['/', ...layout.hostDirs, ...layout.shadowed])
      p2.push(`$M -n -o remount,bind,ro ${q(path)} || fail readonly ${q(path)}`);
  p2.push(`cd ${q(workingDir)} || fail cd ${q(workingDir)}`, 'unset PWD OLDPWD');
  if (env.PWD !== undefined) p2.push(`export PWD=${q(env.PWD)}`);
  const priv = [q(setpriv), ...privileges(uid, gid, options).map(q)];
  p2.push(`exec ${priv.join(' ')} -- "$@"`);
  p1.push(`exec ${q(chroot)} ${q(NR)} ${SH} -c "$_MCPFLEET_P2" container "$@"`);

  const script1 = `_MCPFLEET_P2=$1; shift\n${p1.join('\n')}`;
  const args = [
    '--mount',
    '--propagation',
    'private',
    ...(options.hostname ? ['--uts'] : []),
    '--',
    SH,
    '-c',
    script1,
    'runInImage',
    p2.join('\n'),
    ...argv,
  ];
  const [command, commandArgs] = options.netns
    ? [tool('nsenter'), [`--net=/run/netns/${options.netns}`, '--', unshare, ...args]]
    : [unshare, args];
  return spawn(command, commandArgs, { env, stdio: options.stdio ?? 'pipe' });
}

/** The container's environment: the image's ENV, HOME from /etc/passwd when unset, then ours. */
export function containerEnv(
  layout: ImageLayout,
  options: RunInImageOptions,
  uid: number,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...layout.env,
    ...(options.hostname ? { HOSTNAME: options.hostname } : {}),
    ...options.env,
  };
  if (env.HOME === undefined) env.HOME = homeOf(layout, uid);
  return env;
}

/** setpriv's options: the user, its groups, no_new_privs. Root stays root, with its capabilities. */
function privileges(
  uid: number,
  gid: number,
  options: Pick<RunInImageOptions, 'groups' | 'noNewPrivileges'>,
): string[] {
  const groups = options.groups ?? [];
  return [
    ...(uid !== 0 || gid !== 0 || groups.length > 0
      ? [
          `--reuid=${uid}`,
          `--regid=${gid}`,
          groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups',
        ]
      : []),
    ...(options.noNewPrivileges ? ['--no-new-privs'] : []),
  ];
}

/** The image's /etc/passwd entry for a uid. */
function passwdEntry(layout: ImageLayout, uid: number): string[] | undefined {
  const passwd = layout.shadowed.includes('/etc/passwd')
    ? join(layout.rootfs, 'etc/passwd')
    : '/etc/passwd';
  return readFileSync(passwd, 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((fields) => fields[2] === String(uid));
}

/** `uid[:gid]` (numeric); without a gid, the user's primary group, else 0 (as Docker does). */
function numericUser(layout: ImageLayout, user = layout.user): { uid: number; gid: number } {
  const [u, g] = user.split(':');
  if (!/^\d+$/.test(u ?? '') || (g !== undefined && !/^\d+$/.test(g)))
    throw new Error(`runInImage ${layout.ref}: user ${user} is not a numeric uid[:gid]`);
  const uid = Number(u);
  const gid = g !== undefined ? Number(g) : Number(passwdEntry(layout, uid)?.[3] ?? 0);
  return { uid, gid };
}

function homeOf(layout: ImageLayout, uid: number): string {
  return passwdEntry(layout, uid)?.[5] || '/';
}

/** Single-quoted for sh. */
function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function shellSafe(value: string): string {
  return value.replace(/[^\w./:@-]/g, '_');
}

/**
 * Runs another process in a running container (an exec probe, `kubectl exec`): the namespaces
 * and root of the container process `pid`, the image's user and environment unless overridden.
 */
export function execInContainer(
  pid: number,
  layout: ImageLayout,
  argv: string[],
  options: Pick<
    RunInImageOptions,
    'env' | 'user' | 'groups' | 'workingDir' | 'stdio' | 'noNewPrivileges'
  > = {},
): ChildProcess {
  if (process.getuid?.() !== 0)
    throw new Error('execInContainer needs root (it enters namespaces)');
  const { uid, gid } = numericUser(layout, options.user);
  const env = containerEnv(layout, options, uid);
  const args = [
    `--target=${pid}`,
    '--mount',
    '--uts',
    '--net',
    '--root',
    // nsenter opens an explicit --wd in its own (the host's) mount namespace, before it enters
    // the container's: name the directory through the container's root instead.
    `--wd=/proc/${pid}/root${posix.resolve('/', options.workingDir ?? layout.workingDir)}`,
    '--',
    tool('setpriv'),
    ...privileges(uid, gid, options),
    '--',
    ...argv,
  ];
  return spawn(tool('nsenter'), args, { env, stdio: options.stdio ?? 'pipe' });
}
