// The source registry, registry/servers/<slug>/server.json: loaded and compiled by the
// catalog (the one compiler). Watched while the controller runs, so a server added, changed
// or removed in the checkout is served without a restart; a change that breaks a file keeps
// the last good servers and says why (directory-watch.ts).
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { formatProblem, loadRegistry } from '../../registry/catalog/index.ts';
import type { Logger } from '../observability/log.ts';
import {
  WatchedDirectorySource,
  type DirectoryContent,
  type DirectoryWatchTiming,
} from './directory-watch.ts';
import type { RegistryLoad, RegistrySource } from './registry-source.ts';

export interface ServerJsonSourceOptions extends DirectoryWatchTiming {
  logger?: Logger;
}

/** A hash of the folder names and every server.json's bytes: what a reload depends on. */
async function contentHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const entries = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  for (const name of entries) {
    hash.update(`${name}\0`);
    try {
      hash.update(await readFile(path.join(dir, name, 'server.json'))).update('\0');
    } catch (error) {
      // No server.json (yet): the compiler will say so; the hash still records its absence.
      hash.update(`missing:${(error as NodeJS.ErrnoException).code ?? ''}\0`);
    }
  }
  return hash.digest('hex');
}

export class ServerJsonDirectorySource extends WatchedDirectorySource implements RegistrySource {
  readonly format = 'server-json' as const;
  protected readonly recursive = true;

  constructor(dir: string, options: ServerJsonSourceOptions = {}) {
    super(dir, options);
  }

  async load(): Promise<RegistryLoad> {
    const hash = await contentHash(this.location).catch(() => undefined);
    const { specs, problems, warnings } = await loadRegistry(this.location);
    if (hash !== undefined && problems.length === 0) this.remember(hash, specs);
    if (warnings.length > 0) {
      // Said once at start; `mcpfleet registry check` lists them with their locations.
      this.logger?.warn(
        { warnings: warnings.map(formatProblem) },
        `registry: ${warnings.length} field${warnings.length === 1 ? '' : 's'} mcpfleet does not read (ignored)`,
      );
    }
    return { specs, problems };
  }

  protected async read(): Promise<DirectoryContent> {
    return {
      hash: await contentHash(this.location),
      validate: () => loadRegistry(this.location),
    };
  }
}
