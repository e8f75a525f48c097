// Where materialized images and the tools they stand on are kept between runs, and the two
// helpers every slow step uses: a progress line on stderr, and "build in a temp dir, then
// rename" so a crash or a concurrent run never leaves a half-built entry behind.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** `${XDG_CACHE_HOME:-~/.cache}/mcpfleet/images`, or `override`. */
export function imageCacheRoot(override?: string): string {
  if (override) return override;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'mcpfleet', 'images');
}

export type Log = (message: string) => void;

/** Progress for slow steps goes to stderr, so a cold run does not look hung. */
export const stderrLog: Log = (message) => process.stderr.write(`[images] ${message}\n`);

/**
 * Returns `dir`, building it first with `build(tmp)` when it does not exist. The build writes
 * into a sibling temp dir that is renamed into place; when another process finished first, its
 * result wins and ours is discarded.
 */
export async function ensureDir(
  dir: string,
  build: (tmp: string) => Promise<void>,
): Promise<string> {
  if (existsSync(dir)) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp);
  try {
    await build(tmp);
    try {
      renameSync(tmp, dir);
    } catch (error) {
      if (!existsSync(dir)) throw error;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

const inFlight = new Map<string, Promise<unknown>>();

/** One build per key at a time within this process (the kubelet may ask for an image twice). */
export function once<T>(key: string, run: () => Promise<T>): Promise<T> {
  const existing = inFlight.get(key) as Promise<T> | undefined;
  if (existing) return existing;
  const promise = run().finally(() => inFlight.delete(key));
  inFlight.set(key, promise);
  return promise;
}
