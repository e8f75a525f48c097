// Reads what a pull request is compared with straight from git's object store: the base
// commit's registry files come from `git ls-tree` + `git cat-file`, so reviewing a change never
// checks anything out and never touches the working tree another process may be editing.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { ReviewError } from './review-error.ts';

const run = promisify(execFile);

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 256 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new ReviewError('git is not installed (it reads the base commit)');
    throw new ReviewError(`git ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Whether `ref` names a commit here. */
async function isCommit(cwd: string, ref: string): Promise<boolean> {
  try {
    await git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/** The top folder of the git work tree that holds `cwd`. */
export async function workTreeRoot(cwd: string): Promise<string> {
  try {
    return (await git(cwd, ['rev-parse', '--show-toplevel'])).trim();
  } catch (error) {
    if (/not a git repository/i.test((error as Error).message)) {
      throw new ReviewError(
        `${cwd} is not inside a git repository: registry diff reads the base from git history`,
      );
    }
    throw error;
  }
}

/** Where a pull request's changes are counted from: the default base, then its merge base. */
export interface Base {
  /** The ref as given or chosen (`origin/main`). */
  ref: string;
  /** The merge base of HEAD and `ref`: the commit GitHub compares a pull request with. */
  commit: string;
}

/** `--base` unset: `origin/main` (a CI checkout) if it exists, else `main` (a local clone). */
export const DEFAULT_BASES = ['origin/main', 'main'] as const;

export async function resolveBase(root: string, ref: string | undefined): Promise<Base> {
  let chosen = ref;
  if (chosen === undefined) {
    for (const candidate of DEFAULT_BASES) {
      if (await isCommit(root, candidate)) {
        chosen = candidate;
        break;
      }
    }
    if (chosen === undefined) {
      throw new ReviewError(
        `no base to compare with: neither ${DEFAULT_BASES.join(' nor ')} exists here; pass --base <branch|tag|commit>`,
      );
    }
  } else if (!(await isCommit(root, chosen))) {
    throw new ReviewError(
      `unknown base "${chosen}": give a branch, tag or commit that exists here ` +
        '(in CI, fetch it first: actions/checkout with fetch-depth: 0)',
    );
  }
  if (!(await isCommit(root, 'HEAD'))) {
    throw new ReviewError('HEAD has no commit yet: commit once, then compare with a base');
  }
  try {
    const commit = (await git(root, ['merge-base', 'HEAD', chosen])).trim();
    return { ref: chosen, commit };
  } catch {
    throw new ReviewError(
      `HEAD and ${chosen} share no history (a shallow clone?): fetch the full history ` +
        '(actions/checkout with fetch-depth: 0) or pass a --base that HEAD descends from',
    );
  }
}

/** One file of a commit's tree, as `git ls-tree -r -l` lists it. */
export interface TreeFile {
  /** Path from the repository root, `/`-separated. */
  path: string;
  /** 100644 or 100755 a file, 120000 a symlink, 160000 a submodule. */
  mode: string;
  oid: string;
  /** Bytes; undefined for a submodule. */
  size: number | undefined;
}

/** Every file under `dir` (relative to the repository root; '' for all) in `commit`. */
export async function listTree(root: string, commit: string, dir: string): Promise<TreeFile[]> {
  const args = ['ls-tree', '-r', '-l', '-z', '--full-tree', commit];
  if (dir !== '') args.push('--', `${dir}/`);
  const files: TreeFile[] = [];
  for (const record of (await git(root, args)).split('\0')) {
    if (record === '') continue;
    // "<mode> <type> <oid> <size>\t<path>", the size right-aligned with spaces.
    const tab = record.indexOf('\t');
    const [mode, , oid, size] = record.slice(0, tab).split(/ +/);
    files.push({
      path: record.slice(tab + 1),
      mode: mode!,
      oid: oid!,
      size: size === '-' ? undefined : Number(size),
    });
  }
  return files;
}

/** The contents of blobs, by object id, read through one `git cat-file --batch`. */
export async function readBlobs(
  root: string,
  oids: readonly string[],
): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  if (oids.length === 0) return blobs;
  const child = spawn('git', ['cat-file', '--batch'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  child.stdin.end(`${oids.join('\n')}\n`);
  const code = await exited;
  if (code !== 0)
    throw new ReviewError(`git cat-file --batch exited with ${code}: ${stderr.trim()}`);
  // Each answer is "<oid> <type> <size>\n<size bytes>\n".
  const output = Buffer.concat(chunks);
  let offset = 0;
  while (offset < output.length) {
    const newline = output.indexOf(10, offset);
    const [oid, type, size] = output.subarray(offset, newline).toString().split(' ');
    if (type === 'missing' || size === undefined) {
      throw new ReviewError(`git object ${oid} is missing from this clone`);
    }
    const start = newline + 1;
    blobs.set(oid!, output.subarray(start, start + Number(size)));
    offset = start + Number(size) + 1;
  }
  return blobs;
}
