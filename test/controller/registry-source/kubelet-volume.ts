// A ConfigMap volume written the way the kubelet's AtomicWriter writes one: each update goes
// into a fresh `..<timestamp>` directory, a `..data_tmp` symlink is pointed at it and renamed
// over `..data`, then the user-visible `<key> -> ..data/<key>` symlinks are added (new keys)
// or removed (stale keys), and the previous timestamped directory is deleted.
import { mkdir, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

let sequence = 0;

export class KubeletVolume {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Publishes `files` (name → content) as the volume's complete new payload. */
  async write(files: Record<string, string>): Promise<void> {
    sequence += 1;
    const stamp = `..2026_12_01_10_00_${String(sequence).padStart(2, '0')}.${String(process.pid).padStart(9, '0')}`;
    const tsDir = path.join(this.dir, stamp);
    await mkdir(tsDir, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      await writeFile(path.join(tsDir, name), content);
    }
    let previous: string | undefined;
    try {
      previous = await readlink(path.join(this.dir, '..data'));
    } catch {
      // first write
    }
    const tmp = path.join(this.dir, '..data_tmp');
    await symlink(stamp, tmp);
    await rename(tmp, path.join(this.dir, '..data'));

    const visible = new Set((await readdir(this.dir)).filter((name) => !name.startsWith('..')));
    for (const name of Object.keys(files)) {
      if (!visible.has(name)) await symlink(path.join('..data', name), path.join(this.dir, name));
    }
    if (previous !== undefined && previous !== stamp) {
      await rm(path.join(this.dir, previous), { recursive: true, force: true });
    }
    for (const name of visible) {
      if (!(name in files)) await rm(path.join(this.dir, name), { force: true });
    }
  }
}
