// Where the controller's servers come from. One interface, two directory layouts:
//
//   registry/servers/<slug>/server.json   the source tree (a checkout): compiled at load
//   <dir>/*.json                          shards of compiled ServerSpecs, each a JSON array:
//                                         the registry ConfigMaps a pod mounts (one file per
//                                         ConfigMap), or `mcpfleet registry compile` output
//
// openRegistrySource() tells them apart from what the directory holds.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../observability/log.ts';
import type { Problem, ServerSpec } from '../../registry/catalog/spec.ts';
import { ServerJsonDirectorySource } from './server-json-source.ts';
import type { DirectoryWatchTiming } from './directory-watch.ts';
import { ShardDirectorySource } from './shard-source.ts';

export interface RegistryLoad {
  specs: ServerSpec[];
  /** Located problems (file + JSON path + fix). Any problem means: do not use `specs`. */
  problems: Problem[];
}

export type RegistryFormat = 'server-json' | 'shards' | 'static';

export interface RegistrySource {
  readonly format: RegistryFormat;
  /** What to name in messages: the directory, or "(in-memory specs)". */
  readonly location: string;
  /** Reads and validates the whole registry. Never throws for bad content. */
  load(): Promise<RegistryLoad>;
  /**
   * Calls `onChange` with the complete new spec list whenever the registry changes to a
   * valid state different from the last one loaded or emitted. A change that fails
   * validation is not emitted: it is logged, and given to `onRejected`, and the previous
   * specs stay in force. Returns the function that stops watching.
   */
  watch(
    onChange: (specs: ServerSpec[]) => void,
    onRejected?: (problems: Problem[]) => void,
  ): () => void;
}

/** The directory is not a registry in any layout we know; the message says what it holds. */
export class RegistrySourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistrySourceError';
  }
}

export interface OpenRegistryOptions {
  logger?: Logger;
  /** How changes are noticed (both layouts are watched). */
  watch?: DirectoryWatchTiming;
}

/** Which layout `dir` holds; throws RegistrySourceError when it is neither. */
export function detectRegistryFormat(dir: string): 'server-json' | 'shards' {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RegistrySourceError(
      code === 'ENOENT'
        ? `registry directory ${dir} does not exist (--registry, MCPFLEET_REGISTRY_DIR)`
        : code === 'ENOTDIR'
          ? `registry ${dir} is a file: pass the directory that holds it (--registry, MCPFLEET_REGISTRY_DIR)`
          : `cannot read the registry directory ${dir}: ${code ?? String(error)}`,
    );
  }
  const folders: string[] = [];
  const shards: string[] = [];
  const other: string[] = [];
  // Dot entries are never content: `..data` and `..<timestamp>` are the kubelet's machinery
  // behind a ConfigMap volume, `.git*` and editors' files are not servers.
  for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
    let kind: 'dir' | 'file' | 'other' = 'other';
    try {
      const stats = statSync(path.join(dir, name)); // follows the volume's symlinks
      kind = stats.isDirectory() ? 'dir' : stats.isFile() ? 'file' : 'other';
    } catch {
      // A dangling symlink: neither layout; reported with the rest below.
    }
    if (kind === 'dir') folders.push(`${name}/`);
    else if (kind === 'file' && name.endsWith('.json')) shards.push(name);
    else other.push(name);
  }
  if (folders.length > 0 && shards.length === 0) return 'server-json';
  if (shards.length > 0 && folders.length === 0) return 'shards';
  const expected =
    'expected either <slug>/server.json folders (the source registry) or *.json files ' +
    'that each hold a JSON array of compiled specs (the registry ConfigMaps)';
  if (folders.length > 0) {
    throw new RegistrySourceError(
      `registry directory ${dir} mixes server folders (${sample(folders)}) and *.json files ` +
        `(${sample(shards)}): ${expected}, not both`,
    );
  }
  throw new RegistrySourceError(
    other.length === 0
      ? `registry directory ${dir} is empty: ${expected}`
      : `registry directory ${dir} holds neither layout (found ${sample(other)}): ${expected}`,
  );
}

function sample(names: string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')}, ...`;
}

/** The source for a registry directory, in whichever layout it holds. */
export function openRegistrySource(dir: string, options: OpenRegistryOptions = {}): RegistrySource {
  return detectRegistryFormat(dir) === 'shards'
    ? new ShardDirectorySource(dir, { logger: options.logger, ...options.watch })
    : new ServerJsonDirectorySource(dir, { logger: options.logger, ...options.watch });
}

/** Specs handed over in memory (tests, benches): loads them as given, never changes. */
export function staticRegistrySource(specs: ServerSpec[]): RegistrySource {
  return {
    format: 'static',
    location: '(in-memory specs)',
    load: async () => ({ specs, problems: [] }),
    watch: () => () => undefined,
  };
}
