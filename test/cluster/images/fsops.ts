// File operations of a build, with Docker's semantics where they differ from Node's defaults:
// exact modes (no umask), copies that share inodes with the cache (hard links) but are unshared
// before anything changes them, and chmod's symbolic modes.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  renameSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';

export const isRoot = process.getuid?.() === 0;

/** Like `cp -a --link`: directories are created, files are hard links to `from`'s. */
export function linkTree(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  run('cp', ['-a', '--link', '--no-target-directory', '--remove-destination', from, to]);
}

/** `cp -a --link from/. to/`: the contents of a directory, merged into another. */
export function linkContents(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  run('cp', ['-a', '--link', '--remove-destination', `${from}/.`, `${to}/`]);
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error?.message}`);
}

/** mkdir -p, every directory it creates getting exactly `mode` (and uid:gid when given). */
export function mkdirExact(path: string, mode = 0o755, owner?: { uid: number; gid: number }) {
  const missing: string[] = [];
  for (let p = path; !exists(p); p = dirname(p)) missing.unshift(p);
  for (const p of missing) {
    mkdirSync(p);
    chmodSync(p, mode);
    if (owner && isRoot) lchownSync(p, owner.uid, owner.gid);
  }
}

export function exists(path: string): boolean {
  return lstatOrUndefined(path) !== undefined;
}

export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Before a file that may be a hard link into the cache is changed (chmod, chown), give it an
 * inode of its own, so the change stays in this image.
 */
export function unshareInode(path: string): void {
  const stat = lstatSync(path);
  if (!stat.isFile() || stat.nlink < 2) return;
  const tmp = join(dirname(path), `.unshare-${process.pid}-${Date.now()}`);
  copyFileSync(path, tmp);
  chmodSync(tmp, stat.mode & 0o7777);
  if (isRoot) lchownSync(tmp, stat.uid, stat.gid);
  renameSync(tmp, path);
}

/** The build's umask: Docker builds run with 022. */
const UMASK = 0o022;

/**
 * The new mode of a file for a chmod MODE argument: octal (`755`) or symbolic
 * (`+x`, `u+rwx,go-w`, `a=rX`), as GNU chmod computes it.
 */
export function chmodMode(spec: string, current: number, isDir: boolean): number {
  if (/^[0-7]{1,4}$/.test(spec)) return parseInt(spec, 8);
  let mode = current & 0o7777;
  for (const clause of spec.split(',')) {
    const match = /^([ugoa]*)((?:[-+=][rwxXst]*)+)$/.exec(clause);
    if (!match) throw new Error(`invalid mode: '${spec}'`);
    const who = match[1] || '';
    const mask =
      who === ''
        ? 0o7777 & ~UMASK
        : [...who].reduce(
            (m, w) =>
              m | { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 }[w as 'u' | 'g' | 'o' | 'a'],
            0,
          );
    for (const [, op, perms] of match[2]!.matchAll(/([-+=])([rwxXst]*)/g)) {
      let bits = 0;
      for (const p of perms!) {
        if (p === 'r') bits |= 0o444;
        else if (p === 'w') bits |= 0o222;
        else if (p === 'x') bits |= 0o111;
        else if (p === 'X') bits |= isDir || mode & 0o111 ? 0o111 : 0;
        else if (p === 's') bits |= 0o6000;
        else if (p === 't') bits |= 0o1000;
      }
      bits &= mask;
      if (op === '+') mode |= bits;
      else if (op === '-') mode &= ~bits;
      else mode = (mode & ~(who === '' ? 0o7777 : mask)) | bits;
    }
  }
  return mode;
}
