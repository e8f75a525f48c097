// kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go): the payload lives in a timestamped
// directory `..2006_01_02_15_04_05.<random>`; `..data` is a symlink to it, swapped atomically with
// rename(2); each top-level entry is a symlink `name -> ..data/name`. Readers that open a path
// always see one complete version, and watchers see `..data` change.
import fs from 'node:fs/promises';
import path from 'node:path';

export interface PayloadFile {
  data: Buffer | string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  /** Optional owner (fsGroup / runAsUser) for the file. */
  uid?: number;
  gid?: number;
}

export type Payload = Map<string, PayloadFile>;

const DATA_DIR = '..data';
const DATA_TMP = '..data_tmp';

function timestampPrefix(now = new Date()): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    `..${now.getUTCFullYear()}_${pad(now.getUTCMonth() + 1)}_${pad(now.getUTCDate())}_` +
    `${pad(now.getUTCHours())}_${pad(now.getUTCMinutes())}_${pad(now.getUTCSeconds())}.`
  );
}

function validatePath(relative: string): void {
  if (
    !relative ||
    path.isAbsolute(relative) ||
    relative.split('/').some((part) => part === '..' || part.startsWith('..')) ||
    relative.length > 4096
  ) {
    throw new Error(`invalid volume item path ${JSON.stringify(relative)}`);
  }
}

async function readPayloadDir(dir: string, prefix = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      for (const [key, value] of await readPayloadDir(path.join(dir, entry.name), relative)) {
        out.set(key, value);
      }
    } else out.set(relative, await fs.readFile(path.join(dir, entry.name)));
  }
  return out;
}

async function unchanged(targetDir: string, oldTsDir: string, payload: Payload): Promise<boolean> {
  let current: Map<string, Buffer>;
  try {
    current = await readPayloadDir(path.join(targetDir, oldTsDir));
  } catch {
    return false;
  }
  if (current.size !== payload.size) return false;
  for (const [key, file] of payload) {
    const existing = current.get(key);
    if (!existing || !existing.equals(Buffer.from(file.data))) return false;
    const stat = await fs.stat(path.join(targetDir, oldTsDir, key));
    if ((stat.mode & 0o7777) !== file.mode) return false;
  }
  return true;
}

/** Writes the payload into targetDir; returns false when it was already current. */
export async function writeAtomically(targetDir: string, payload: Payload): Promise<boolean> {
  for (const key of payload.keys()) validatePath(key);
  await fs.mkdir(targetDir, { recursive: true });
  const oldTsDir = await fs.readlink(path.join(targetDir, DATA_DIR)).catch(() => '');
  if (oldTsDir && (await unchanged(targetDir, oldTsDir, payload))) return false;

  const tsDir = await fs.mkdtemp(path.join(targetDir, timestampPrefix()));
  const tsName = path.basename(tsDir);
  await fs.chmod(tsDir, 0o755);
  for (const [relative, file] of payload) {
    const destination = path.join(tsDir, relative);
    await fs.mkdir(path.dirname(destination), { recursive: true, mode: 0o755 });
    await fs.writeFile(destination, file.data);
    await fs.chmod(destination, file.mode);
    if (file.uid !== undefined || file.gid !== undefined) {
      await fs.chown(destination, file.uid ?? -1, file.gid ?? -1);
    }
  }

  const tmpLink = path.join(targetDir, DATA_TMP);
  await fs.rm(tmpLink, { force: true });
  await fs.symlink(tsName, tmpLink);
  await fs.rename(tmpLink, path.join(targetDir, DATA_DIR));

  // User-visible paths: one symlink per top-level entry of the payload.
  const topLevel = new Set([...payload.keys()].map((key) => key.split('/')[0]!));
  for (const name of topLevel) {
    const link = path.join(targetDir, name);
    const existing = await fs.readlink(link).catch(() => undefined);
    if (existing === path.join(DATA_DIR, name)) continue;
    await fs.rm(link, { force: true, recursive: true });
    await fs.symlink(path.join(DATA_DIR, name), link);
  }
  for (const entry of await fs.readdir(targetDir)) {
    if (entry.startsWith('..') || topLevel.has(entry)) continue;
    await fs.rm(path.join(targetDir, entry), { force: true, recursive: true });
  }
  if (oldTsDir && oldTsDir !== tsName) {
    await fs.rm(path.join(targetDir, oldTsDir), { recursive: true, force: true });
  }
  return true;
}
