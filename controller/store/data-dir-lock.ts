// One controller per embedded data directory. Two controllers on the same .mcpfleet/pgdata
// would each run their own PGlite over the same files, and one would lose its writes; the
// second one therefore refuses to start, naming the first.
//
// The lock is proper-lockfile's: a directory beside the data directory (<dataDir>.lock),
// created atomically and kept fresh by its holder (its mtime, every half of STALE_MS). It goes
// with the process: released on any ordinary exit (signals included), and stale STALE_MS after
// a holder that was killed outright, when the next controller takes it over. Beside it,
// <dataDir>.lock.json says who holds it, so a second controller can tell a live holder (refuse
// at once) from a dead one (wait for its lock to go stale rather than refuse).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import lockfile from 'proper-lockfile';
import type { Logger } from '../observability/log.ts';

/** How long a lock outlives its holder's last renewal. */
export const STALE_MS = 10_000;
const RETRY_MS = 500;

export interface DataDirLockOptions {
  logger?: Logger;
  /** For tests; at least 2 s (proper-lockfile's floor). */
  staleMs?: number;
}

/** Who holds the lock, as written beside it. */
interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** The data directory is in use by another controller. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

/** Takes the lock of `dataDir` (created if missing) or throws DataDirLockedError. */
export async function lockDataDir(
  dataDir: string,
  options: DataDirLockOptions = {},
): Promise<() => Promise<void>> {
  const { logger } = options;
  const stale = Math.max(options.staleMs ?? STALE_MS, 2_000);
  await mkdir(dataDir, { recursive: true });
  const holderFile = `${dataDir}.lock.json`;
  const lockOptions = {
    stale,
    realpath: false,
    onCompromised: (err: Error) =>
      logger?.error(
        { err: err.message, dataDir },
        'the data directory lock was lost (removed, or not renewed in time): another ' +
          'controller may now open the same embedded database',
      ),
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, lockOptions);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ELOCKED') throw err;
    const holder = await readHolder(holderFile);
    if (holder && isLiveHere(holder)) throw lockedBy(dataDir, holder);
    // Its holder is gone (killed before it could release): the lock goes stale shortly.
    logger?.info(
      { dataDir, holder, staleMs: stale },
      'the data directory lock was left by a controller that is gone; waiting for it to expire',
    );
    try {
      release = await lockfile.lock(dataDir, {
        ...lockOptions,
        retries: { retries: Math.ceil(stale / RETRY_MS) + 2, factor: 1, minTimeout: RETRY_MS },
      });
    } catch (again) {
      if ((again as { code?: string }).code !== 'ELOCKED') throw again;
      throw lockedBy(dataDir, await readHolder(holderFile));
    }
  }
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await writeFile(holderFile, `${JSON.stringify(me)}\n`);
  return async () => {
    await rm(holderFile, { force: true });
    await release().catch((err: unknown) =>
      logger?.warn({ err, dataDir }, 'could not release the data directory lock'),
    );
  };
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Holder;
  } catch {
    return undefined; // none yet (its holder is writing it), or unreadable
  }
}

/** A process of this machine that is not this one (a container's pid 1 is every container's). */
function isLiveHere(holder: Holder): boolean {
  if (holder.host !== hostname() || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'; // alive, another user's
  }
}

function lockedBy(dataDir: string, holder: Holder | undefined): DataDirLockedError {
  const who = holder
    ? `another controller (pid ${holder.pid} on ${holder.host}, since ${holder.since})`
    : 'another controller';
  return new DataDirLockedError(
    `the data directory ${dataDir} is in use by ${who}; two controllers on one embedded ` +
      "database would lose each other's writes: stop that one, or give this one its own " +
      '--data-dir (or a --database-url)',
  );
}
