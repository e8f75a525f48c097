// A directory of compiled-spec shards: every `*.json` file is a JSON array of ServerSpec. In a
// cluster it is the projected volume of the registry ConfigMaps (infra/manifests/platform.ts,
// `registryConfigMaps`), one file per ConfigMap; anywhere else, `mcpfleet registry compile`
// output saved as a .json file is one.
//
// Reloading. The kubelet updates a ConfigMap volume atomically: it writes the new files into a
// fresh `..<timestamp>` directory, points a `..data_tmp` symlink at it and renames that over
// `..data`; the visible `x.json` are symlinks to `..data/x.json`. So the directory is watched
// (fs.watch sees the rename), changes are debounced, and a slow poll comparing content hashes
// covers filesystems where fs.watch says nothing. Files are read through one resolution of
// `..data`, so a snapshot never mixes two versions. A change that fails validation keeps the
// previous specs (and is logged); a valid one is emitted as the complete new list.
import { createHash } from 'node:crypto';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../observability/log.ts';
import { problemsFromZod } from '../../registry/catalog/problems.ts';
import type { Problem, ServerSpec } from '../../registry/catalog/spec.ts';
import { asServerSpec, ServerSpecSchema } from './spec-schema.ts';
import type { RegistryLoad, RegistrySource } from './registry-source.ts';
import {
  WatchedDirectorySource,
  type DirectoryContent,
  type DirectoryWatchTiming,
} from './directory-watch.ts';

/** Far above a ConfigMap's 1 MiB, so a whole compiled registry fits in one local file. */
export const MAX_SHARD_BYTES = 64 * 1024 * 1024;
const KUBELET_DATA_LINK = '..data';

export interface ShardSourceOptions extends DirectoryWatchTiming {
  logger?: Logger;
}

interface ShardFile {
  /** As shown in problems: the visible path in the directory, e.g. /etc/.../x.json. */
  file: string;
  bytes?: Buffer;
  /** Set instead of `bytes` when the file is too large to read. */
  size?: number;
}

interface Snapshot {
  files: ShardFile[];
  hash: string;
}

/** How paths appear in messages: relative to the working directory when inside it. */
function displayPath(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolute;
}

/** Reads every shard once, through a single resolution of the kubelet's `..data` link. */
async function readSnapshot(dir: string): Promise<Snapshot> {
  const root = path.resolve(dir);
  let base = root;
  try {
    base = await realpath(path.join(root, KUBELET_DATA_LINK));
  } catch {
    // Not a ConfigMap volume: the files are right here.
  }
  const entries = await readdir(base, { withFileTypes: true });
  const names = entries
    .filter((e) => !e.name.startsWith('.') && e.name.endsWith('.json'))
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => e.name)
    .sort();
  const hash = createHash('sha256');
  const files: ShardFile[] = [];
  for (const name of names) {
    const full = path.join(base, name);
    const file = displayPath(path.join(root, name));
    const { size } = await stat(full);
    if (size > MAX_SHARD_BYTES) {
      files.push({ file, size });
      hash.update(`${name}\0size:${size}\0`);
      continue;
    }
    const bytes = await readFile(full);
    files.push({ file, bytes });
    hash.update(`${name}\0`).update(bytes).update('\0');
  }
  return { files, hash: hash.digest('hex') };
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const ShardSchema = z.array(ServerSpecSchema);

/** One shard's bytes → specs, or problems naming the file and the entry's index. */
export function parseShard(file: string, bytes: Uint8Array): RegistryLoad {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return {
      specs: [],
      problems: [{ file, path: '$', message: 'file starts with a UTF-8 byte order mark (BOM)' }],
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : 'not valid UTF-8 text';
    return { specs: [], problems: [{ file, path: '$', message: `invalid JSON: ${reason}` }] };
  }
  if (!Array.isArray(value)) {
    const serverJson =
      value !== null && typeof value === 'object' && ('packages' in value || 'remotes' in value);
    return {
      specs: [],
      problems: [
        {
          file,
          path: '$',
          message:
            `a registry shard is a JSON array of compiled server specs, got ${describeType(value)}` +
            (serverJson
              ? ': this looks like a server.json, which belongs in <slug>/server.json of a source registry'
              : ''),
        },
      ],
    };
  }
  const parsed = ShardSchema.safeParse(value);
  if (!parsed.success) {
    const problems = problemsFromZod(file, parsed.error, ShardSchema, value).map((problem) => {
      // Name the server too, when the entry has a readable slug.
      const index = /^\$\[(\d+)\]/.exec(problem.path)?.[1];
      const slug =
        index === undefined ? undefined : (value[Number(index)] as { slug?: unknown })?.slug;
      return typeof slug === 'string' && slug !== ''
        ? { ...problem, message: `${problem.message} (server "${slug}")` }
        : problem;
    });
    return { specs: [], problems };
  }
  return { specs: parsed.data.map(asServerSpec), problems: [] };
}

/** Every shard of a snapshot → one registry: specs sorted by slug, each slug once. */
function validateSnapshot(dir: string, snapshot: Snapshot): RegistryLoad {
  if (snapshot.files.length === 0) {
    return {
      specs: [],
      problems: [
        {
          file: displayPath(path.resolve(dir)),
          path: '$',
          message: 'the registry directory holds no *.json shard files',
        },
      ],
    };
  }
  const problems: Problem[] = [];
  const specs: ServerSpec[] = [];
  const firstBySlug = new Map<string, string>();
  for (const shard of snapshot.files) {
    if (shard.bytes === undefined) {
      problems.push({
        file: shard.file,
        path: '$',
        message: `file is ${((shard.size ?? 0) / 1024 / 1024).toFixed(1)} MiB; a shard must be under ${MAX_SHARD_BYTES / 1024 / 1024} MiB`,
      });
      continue;
    }
    const result = parseShard(shard.file, shard.bytes);
    problems.push(...result.problems);
    result.specs.forEach((spec, index) => {
      const where = `${shard.file}[${index}]`;
      const first = firstBySlug.get(spec.slug);
      if (first !== undefined) {
        problems.push({
          file: shard.file,
          path: `$[${index}].slug`,
          message: `server "${spec.slug}" is already defined at ${first}; each slug may appear once across the shards`,
        });
        return;
      }
      firstBySlug.set(spec.slug, where);
      specs.push(spec);
    });
  }
  if (problems.length > 0) return { specs: [], problems };
  specs.sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
  return { specs, problems };
}

export class ShardDirectorySource extends WatchedDirectorySource implements RegistrySource {
  readonly format = 'shards' as const;
  protected readonly recursive = false;

  constructor(dir: string, options: ShardSourceOptions = {}) {
    super(dir, options);
  }

  async load(): Promise<RegistryLoad> {
    let snapshot: Snapshot;
    try {
      snapshot = await readSnapshot(this.location);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return {
        specs: [],
        problems: [
          {
            file: displayPath(path.resolve(this.location)),
            path: '$',
            message: `cannot read the registry: ${code ?? String(error)}`,
          },
        ],
      };
    }
    const result = validateSnapshot(this.location, snapshot);
    if (result.problems.length === 0) this.remember(snapshot.hash, result.specs);
    return result;
  }

  protected async read(): Promise<DirectoryContent> {
    const snapshot = await readSnapshot(this.location);
    return { hash: snapshot.hash, validate: () => validateSnapshot(this.location, snapshot) };
  }
}
