// The skeleton of a Debian bookworm image (the official node, python, postgres and redis images
// are all FROM debian:bookworm-slim): its top-level directories with their modes, the merged-/usr
// symlinks as this host has them, and /etc/passwd and /etc/group carrying the image's users.
// Debian's programs and libraries themselves are this host's (/usr, /etc mounted read-only): the
// host is a Debian too, so `sh`, glibc, CA certificates and `apt-get install`ed packages are there.
import {
  chmodSync,
  lchownSync,
  lstatSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isRoot, lstatOrUndefined, mkdirExact } from './fsops.ts';

export interface ImageUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  /** Create the home directory, owned by the user. */
  createHome?: boolean;
}

/** Host directories that stand in for Debian's. */
export const DEBIAN_HOST_DIRS = ['/usr', '/etc'];

const DIRS: [string, number][] = [
  ['dev', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['etc', 0o755],
  ['home', 0o755],
  ['root', 0o700],
  ['run', 0o755],
  ['run/lock', 0o1777],
  ['tmp', 0o1777],
  ['opt', 0o755],
  ['srv', 0o755],
  ['mnt', 0o755],
  ['media', 0o755],
  ['var/lib', 0o755],
  ['var/cache', 0o755],
  ['var/log', 0o755],
  ['var/tmp', 0o1777],
  ['usr', 0o755],
  ...['bin', 'etc', 'games', 'include', 'lib', 'sbin', 'share', 'src'].map(
    (d): [string, number] => [`usr/local/${d}`, 0o755],
  ),
];

/**
 * Writes the skeleton into `rootfs`; returns the host directories to mount read-only at the
 * same paths (/usr, /etc, and /bin, /lib... on a host without merged /usr).
 */
export function writeDebianSkeleton(rootfs: string, users: ImageUser[]): string[] {
  const hostDirs = [...DEBIAN_HOST_DIRS];
  for (const [dir, mode] of DIRS) mkdirExact(join(rootfs, dir), mode);
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const stat = lstatOrUndefined(`/${name}`);
    if (stat?.isSymbolicLink()) symlinkSync(readlinkSync(`/${name}`), join(rootfs, name));
    else if (stat?.isDirectory()) {
      mkdirExact(join(rootfs, name));
      hostDirs.push(`/${name}`);
    }
  }
  symlinkSync('/run', join(rootfs, 'var/run'));
  symlinkSync('/run/lock', join(rootfs, 'var/lock'));
  if (users.length > 0) writeUsers(rootfs, users);
  return hostDirs;
}

/** /etc/passwd and /etc/group: the host's entries, with the image's users in place of clashes. */
function writeUsers(rootfs: string, users: ImageUser[]): void {
  const clash = (line: string, field: 'user' | 'group') => {
    const [name, , id] = line.split(':');
    return users.some((u) =>
      field === 'user'
        ? u.name === name || String(u.uid) === id
        : u.name === name || String(u.gid) === id,
    );
  };
  const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
  const passwd = lines('/etc/passwd').filter((l) => !clash(l, 'user'));
  const group = lines('/etc/group').filter((l) => !clash(l, 'group'));
  for (const u of users) {
    passwd.push(`${u.name}:x:${u.uid}:${u.gid}::${u.home}:${u.shell}`);
    group.push(`${u.name}:x:${u.gid}:`);
    if (u.createHome) mkdirExact(join(rootfs, u.home), 0o755, u);
  }
  for (const [file, content] of [
    ['etc/passwd', passwd],
    ['etc/group', group],
  ] as const) {
    const path = join(rootfs, file);
    writeFileSync(path, `${content.join('\n')}\n`);
    chmodSync(path, lstatSync(`/${file}`).mode & 0o777);
  }
}

/** Writes a file with an exact mode and owner. */
export function writeImageFile(
  rootfs: string,
  path: string,
  content: string | Buffer,
  mode = 0o644,
  owner?: { uid: number; gid: number },
): void {
  const full = join(rootfs, path);
  mkdirExact(join(full, '..'));
  writeFileSync(full, content);
  chmodSync(full, mode);
  if (owner && isRoot) lchownSync(full, owner.uid, owner.gid);
}

/** An empty file or directory at a base mount's target, so the mount has a place to go. */
export function writePlaceholder(rootfs: string, target: string, directory: boolean): void {
  const full = join(rootfs, target);
  if (lstatOrUndefined(full)) return;
  if (directory) mkdirExact(full);
  else writeImageFile(rootfs, target, '', 0o644);
}
