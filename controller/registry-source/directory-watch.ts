// Noticing registry changes in a directory, whatever its layout: fs.watch events (debounced)
// and a slow poll for filesystems where fs.watch says nothing, each leading to one read of
// the directory's content hash. A changed hash is validated; a valid registry different from
// the last one applied is emitted whole, an invalid one is logged and reported, and the
// previous servers stay in force. One check runs at a time; events during it run it again.
import { watch as watchFs, type FSWatcher } from 'node:fs';
import type { Logger } from '../observability/log.ts';
import { formatProblem } from '../../registry/catalog/problems.ts';
import type { Problem, ServerSpec } from '../../registry/catalog/spec.ts';
import type { RegistryLoad } from './registry-source.ts';
import { stableStringify } from './spec-diff.ts';

export interface DirectoryWatchTiming {
  /** Quiet time after a filesystem event before reloading; default 200 ms. */
  debounceMs?: number;
  /** Content-hash poll, for filesystems where fs.watch is silent; default 10 s, 0 = off. */
  pollIntervalMs?: number;
  /** Use fs.watch on the directory (default true); the poll runs either way. */
  fsWatch?: boolean;
}

export interface DirectoryWatchOptions extends DirectoryWatchTiming {
  dir: string;
  /** Watch subdirectories too (a source registry's <slug>/server.json). */
  recursive: boolean;
  logger?: Logger;
  /** What the last load() saw, so an unchanged directory emits nothing. */
  initial?: { hash: string; specsKey: string };
  /** The directory's content now: its hash, and how to validate that content. */
  read(): Promise<DirectoryContent>;
  onChange(specs: ServerSpec[]): void;
  onRejected?(problems: Problem[]): void;
}

/** Starts watching; returns the function that stops. */
export function watchRegistryDirectory(options: DirectoryWatchOptions): () => void {
  const debounceMs = options.debounceMs ?? 200;
  const pollIntervalMs = options.pollIntervalMs ?? 10_000;
  const log = options.logger;
  let seenHash = options.initial?.hash;
  let appliedKey = options.initial?.specsKey;
  let stopped = false;
  let running = false;
  let again = false;
  let debounce: NodeJS.Timeout | undefined;

  const checkOnce = async (): Promise<void> => {
    let content: Awaited<ReturnType<DirectoryWatchOptions['read']>>;
    try {
      content = await options.read();
    } catch (error) {
      // Mid-swap (a ConfigMap volume's old `..<timestamp>` directory, an editor's rename) a
      // file can vanish under us: the change's own event, or the next poll, reads again.
      log?.warn({ err: error }, 'cannot read the registry directory; retrying on the next change');
      return;
    }
    if (stopped || content.hash === seenHash) return;
    seenHash = content.hash;
    const result = await content.validate();
    if (stopped) return;
    if (result.problems.length > 0) {
      log?.error(
        { problems: result.problems.map(formatProblem) },
        `registry change rejected (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}): keeping the previous servers`,
      );
      options.onRejected?.(result.problems);
      return;
    }
    const key = stableStringify(result.specs);
    if (key === appliedKey) return; // reformatted or re-sharded, same servers
    appliedKey = key;
    options.onChange(result.specs);
  };

  const check = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await checkOnce();
      } while (again && !stopped);
    } catch (error) {
      log?.error({ err: error }, 'registry reload failed');
    } finally {
      running = false;
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void check(), debounceMs);
    debounce.unref();
  };

  let watcher: FSWatcher | undefined;
  if (options.fsWatch ?? true) {
    try {
      watcher = watchFs(options.dir, { persistent: false, recursive: options.recursive }, schedule);
      watcher.on('error', (error) => {
        log?.warn({ err: error }, 'fs.watch failed; noticing registry changes by polling only');
        watcher?.close();
        watcher = undefined;
      });
    } catch (error) {
      log?.warn({ err: error }, 'fs.watch unavailable; noticing registry changes by polling only');
    }
  }
  const poll = pollIntervalMs > 0 ? setInterval(() => void check(), pollIntervalMs) : undefined;
  poll?.unref();
  // Whatever changed between load() and now has sent no event we could hear.
  schedule();

  return () => {
    stopped = true;
    clearTimeout(debounce);
    clearInterval(poll);
    watcher?.close();
  };
}

/** What a directory holds now: its content hash, and how to validate that content. */
export interface DirectoryContent {
  hash: string;
  validate(): RegistryLoad | Promise<RegistryLoad>;
}

/**
 * A registry source over a directory, whatever its layout: `load()` once (remembering what
 * it saw), then `watch()` from there. A layout says how to read its content (`read`) and
 * whether its files sit in subdirectories (`recursive`).
 */
export abstract class WatchedDirectorySource {
  readonly location: string;
  protected readonly logger: Logger | undefined;
  readonly #timing: DirectoryWatchTiming;
  /** The content behind the last valid load(): a watcher's starting point. */
  #loaded: { hash: string; specsKey: string } | undefined;
  protected abstract readonly recursive: boolean;

  constructor(dir: string, options: DirectoryWatchTiming & { logger?: Logger | undefined } = {}) {
    this.location = dir;
    const { logger, ...timing } = options;
    this.#timing = timing;
    this.logger = logger?.child({ component: 'registry', registry: dir });
  }

  protected abstract read(): Promise<DirectoryContent>;

  /** A load() found this content valid: watching starts from it. */
  protected remember(hash: string, specs: ServerSpec[]): void {
    this.#loaded = { hash, specsKey: stableStringify(specs) };
  }

  watch(
    onChange: (specs: ServerSpec[]) => void,
    onRejected?: (problems: Problem[]) => void,
  ): () => void {
    return watchRegistryDirectory({
      dir: this.location,
      recursive: this.recursive,
      ...this.#timing,
      ...(this.logger ? { logger: this.logger } : {}),
      ...(this.#loaded ? { initial: this.#loaded } : {}),
      read: () => this.read(),
      onChange,
      ...(onRejected ? { onRejected } : {}),
    });
  }
}
