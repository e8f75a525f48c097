// How a path inside the container resolves to a host path, the same way the mount namespace
// that runInImage builds will resolve it: base mounts first, then the image's own files, then the
// host directories standing in for the OS; symlinks are followed inside the container's view,
// never the host's. The build uses it to find `npm` in a stage, to follow COPY --from sources and
// to write RUN results at the right place.
import { readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Mount } from './layout.ts';
import { lstatOrUndefined } from './fsops.ts';

export interface View {
  rootfs: string;
  baseMounts: readonly Mount[];
  hostDirs: readonly string[];
}

export type Resolved =
  | { kind: 'rootfs'; path: string; hostPath: string }
  | { kind: 'mount'; path: string; hostPath: string; mount: Mount }
  | { kind: 'host'; path: string; hostPath: string };

export function under(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/** Where container path `path` (absolute, normalized, symlinks already resolved) lives. */
export function place(view: View, path: string): Resolved {
  let best: Mount | undefined;
  for (const m of view.baseMounts)
    if (under(path, m.target) && (!best || m.target.length >= best.target.length)) best = m;
  if (best)
    return {
      kind: 'mount',
      path,
      mount: best,
      hostPath: best.source + path.slice(best.target.length),
    };
  const hostDir = view.hostDirs.find((d) => under(path, d));
  if (hostDir && path !== hostDir) {
    // A first-level child the image has itself (e.g. /usr/local) replaces the host's.
    const child = path
      .split('/')
      .slice(0, hostDir.split('/').length + 1)
      .join('/');
    if (!lstatOrUndefined(join(view.rootfs, child))) return { kind: 'host', path, hostPath: path };
  }
  return { kind: 'rootfs', path, hostPath: join(view.rootfs, path) };
}

/**
 * Resolves `path` (absolute, or relative to `cwd`) inside the container, following symlinks in
 * every component (the last one too unless `followLast` is false).
 */
export function resolve(view: View, path: string, cwd = '/', followLast = true): Resolved {
  let pending = posix.resolve(cwd, path).split('/').filter(Boolean);
  let current = '/';
  for (let hops = 0; pending.length > 0;) {
    const name = pending.shift()!;
    const next = posix.join(current, name);
    const placed = place(view, next);
    const stat = lstatOrUndefined(placed.hostPath);
    if (stat?.isSymbolicLink() && (followLast || pending.length > 0)) {
      if (++hops > 40) throw new Error(`${path}: too many levels of symbolic links`);
      const target = readlinkSync(placed.hostPath);
      pending = [...target.split('/').filter(Boolean), ...pending];
      if (target.startsWith('/')) current = '/';
      continue;
    }
    current = next;
  }
  return place(view, current);
}

/** `command -v name` with the container's PATH: the host path of what would run. */
export function which(view: View, name: string, pathVar: string): Resolved | undefined {
  const candidates = name.includes('/')
    ? [name]
    : pathVar.split(':').map((d) => posix.join(d, name));
  for (const candidate of candidates) {
    const resolved = resolve(view, candidate);
    const stat = lstatOrUndefined(resolved.hostPath);
    if (stat?.isFile() && stat.mode & 0o111) return resolved;
  }
  return undefined;
}
