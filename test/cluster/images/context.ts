// The build context: the directory COPY reads from (the repository root), minus what a
// .dockerignore excludes. Matching follows Docker's rules: patterns are relative to the context
// root, `*` `?` `[...]` match within one path segment, `**` any number of segments, a pattern
// that matches a directory excludes everything under it, `!` re-includes, the last match wins.
// BuildKit's <Dockerfile>.dockerignore next to the Dockerfile takes precedence over the root one.
import { createHash, type Hash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { join, posix, relative } from 'node:path';
import { lstatOrUndefined, mkdirExact } from './fsops.ts';

interface Pattern {
  regex: RegExp;
  exclusion: boolean;
}

export interface BuildContext {
  root: string;
  /** Which ignore file applied, if any (relative to root, or absolute). */
  ignoreFile?: string;
  patterns: Pattern[];
}

export function openContext(root: string, dockerfilePath?: string): BuildContext {
  const candidates = [
    ...(dockerfilePath ? [`${dockerfilePath}.dockerignore`] : []),
    join(root, '.dockerignore'),
  ];
  const ignoreFile = candidates.find((file) => existsSync(file));
  const patterns = ignoreFile ? parseIgnore(readFileSync(ignoreFile, 'utf8')) : [];
  return { root, ...(ignoreFile ? { ignoreFile } : {}), patterns };
}

function parseIgnore(text: string): Pattern[] {
  const patterns: Pattern[] = [];
  for (let line of text.split(/\r?\n/)) {
    line = line.trim();
    if (!line || line.startsWith('#')) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    const cleaned = posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
    if (cleaned === '.' || cleaned === '') continue;
    patterns.push({ regex: globRegex(cleaned), exclusion });
  }
  return patterns;
}

/** A path glob (Go filepath.Match plus `**`) as an anchored regular expression. */
export function globRegex(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        out += '(?:.*/)?';
      } else out += '.*';
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) throw new Error(`bad pattern ${glob}`);
      out += `[${glob
        .slice(i + 1, end)
        .replace(/^\^/, '^')
        .replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < glob.length) out += escapeRegex(glob[++i]!);
    else out += escapeRegex(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

export function hasGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

/** Whether the context path `rel` (no leading slash) is excluded. */
export function isIgnored(context: BuildContext, rel: string): boolean {
  if (context.patterns.length === 0) return false;
  const parents: string[] = [];
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) parents.push(parts.slice(0, i).join('/'));
  let ignored = false;
  for (const pattern of context.patterns)
    if (parents.some((p) => pattern.regex.test(p))) ignored = !pattern.exclusion;
  return ignored;
}

/**
 * The context paths a COPY source names (relative to the root, `..` cannot leave it), wildcards
 * expanded. Throws, as BuildKit does, when nothing matches.
 */
export function contextSources(context: BuildContext, source: string): string[] {
  const cleaned = posix.normalize(`/${source}`).slice(1);
  const found = hasGlob(cleaned) ? expandGlob(context, cleaned) : [cleaned];
  const kept = found.filter(
    (rel) => (rel === '' || !isIgnored(context, rel)) && lstatOrUndefined(join(context.root, rel)),
  );
  if (kept.length === 0)
    throw new Error(
      `"${source}": not found in the build context ${context.root}${context.ignoreFile ? ` (or excluded by ${context.ignoreFile})` : ''}`,
    );
  return kept;
}

function expandGlob(context: BuildContext, pattern: string): string[] {
  let matches = [''];
  for (const segment of pattern.split('/')) {
    const next: string[] = [];
    for (const dir of matches) {
      if (!hasGlob(segment)) {
        next.push(dir ? `${dir}/${segment}` : segment);
        continue;
      }
      const full = join(context.root, dir);
      if (!lstatOrUndefined(full)?.isDirectory()) continue;
      const regex = globRegex(segment);
      for (const name of readdirSync(full).sort())
        if (regex.test(name)) next.push(dir ? `${dir}/${name}` : name);
    }
    matches = next;
  }
  return matches;
}

/** The files under a context path, as the copy would see them (ignore rules applied). */
export function walkContext(
  context: BuildContext,
  rel: string,
  visit: (rel: string) => void,
): void {
  const full = join(context.root, rel);
  const stat = lstatSync(full);
  visit(rel);
  if (stat.isDirectory())
    for (const name of readdirSync(full).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (!isIgnored(context, child)) walkContext(context, child, visit);
    }
}

/** Adds what a copy of `rel` would produce (paths, types, modes, contents) to a hash. */
export function hashContextPath(context: BuildContext, rel: string, hash: Hash): void {
  const top = topLevel(context, rel);
  walkContext(context, top, (path) => {
    const full = join(context.root, path);
    const stat = lstatSync(full);
    hash.update(`${relative(top, path) || '.'}\0${stat.mode}\0`);
    if (stat.isFile()) hash.update(createHash('sha256').update(readFileSync(full)).digest());
    else if (stat.isSymbolicLink()) hash.update(readlinkSync(full));
    hash.update('\n');
  });
}

/** A top-level source that is a symlink is followed (BuildKit does), within the context. */
function topLevel(context: BuildContext, rel: string): string {
  const full = join(context.root, rel);
  if (!lstatSync(full).isSymbolicLink()) return rel;
  const real = relative(realpathSync(context.root), realpathSync(full));
  if (real.startsWith('..')) throw new Error(`"${rel}" points outside the build context`);
  return real;
}

/**
 * Copies context path `rel` to host path `dest` (a file's path, or the directory that receives
 * a directory's contents). Modes are kept; owners are whoever runs this (root: 0:0, as COPY).
 * Returns every path it created, for --chown/--chmod.
 */
export function copyFromContext(context: BuildContext, rel: string, dest: string): string[] {
  const top = topLevel(context, rel);
  const created: string[] = [];
  walkContext(context, top, (path) => {
    const from = join(context.root, path);
    const to = join(dest, relative(top, path));
    const stat = lstatSync(from);
    if (stat.isDirectory()) {
      // The receiving directory keeps its mode when it exists; the ones below get the source's.
      if (path === top) mkdirExact(to);
      else if (lstatOrUndefined(to)?.isDirectory()) chmodSync(to, stat.mode & 0o7777);
      else mkdirExact(to, stat.mode & 0o7777);
    } else {
      mkdirExact(join(to, '..'));
      if (lstatOrUndefined(to)?.isDirectory())
        throw new Error(`cannot overwrite directory ${to} with a file`);
      rmSync(to, { force: true });
      if (stat.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
      else {
        copyFileSync(from, to);
        chmodSync(to, stat.mode & 0o7777);
      }
    }
    created.push(to);
  });
  return created;
}
