// List + watch one collection into a store, the way client-go's reflector does: list, then watch
// from the list's resourceVersion (with bookmarks); reconnect from the last seen resourceVersion
// with back-off; relist when the server answers 410 Gone (resourceVersion too old).
import { KubeApiError, type KubeApi, type Query, type WatchEvent } from './kube-api.ts';
import type { Logger } from './logger.ts';

export interface KubeObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
  };
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ReflectorOptions<T extends KubeObject> {
  api: KubeApi;
  /** Collection path, e.g. /api/v1/pods */
  path: string;
  /** Extra list/watch parameters (fieldSelector, labelSelector). */
  query?: Query;
  onChange: (type: ChangeType, object: T, previous: T | undefined) => void;
  logger: Logger;
  /** Back-off after a failed list or watch: starts here and doubles up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface Reflector<T extends KubeObject> {
  readonly store: ReadonlyMap<string, T>;
  /** Resolves after the first successful list has been delivered. */
  readonly synced: Promise<void>;
  get(namespace: string | undefined, name: string): T | undefined;
  stop(): void;
}

export const objectKey = (object: KubeObject): string =>
  `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

interface ListResponse<T> {
  metadata?: { resourceVersion?: string };
  items?: T[];
}

interface StatusObject {
  kind?: string;
  code?: number;
  message?: string;
}

export function startReflector<T extends KubeObject>(options: ReflectorOptions<T>): Reflector<T> {
  const { api, path, logger, onChange } = options;
  const minBackoff = options.minBackoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  const store = new Map<string, T>();
  const abort = new AbortController();
  let resourceVersion = '';
  let resolveSynced!: () => void;
  const synced = new Promise<void>((resolve) => (resolveSynced = resolve));

  const apply = (type: ChangeType, object: T): void => {
    const key = objectKey(object);
    const previous = store.get(key);
    if (type === 'DELETED') store.delete(key);
    else store.set(key, object);
    try {
      onChange(type, object, previous);
    } catch (err) {
      logger.error(`reflector ${path}: handler failed`, { err: String(err) });
    }
  };

  const list = async (): Promise<void> => {
    const response = await api.request<ListResponse<T>>('GET', path, {
      // No resourceVersion: a consistent read, so a relist never goes back in time.
      query: { ...options.query },
      signal: abort.signal,
    });
    const fresh = new Map<string, T>();
    for (const item of response.items ?? []) fresh.set(objectKey(item), item);
    for (const [key, old] of [...store]) {
      if (!fresh.has(key)) apply('DELETED', old);
    }
    for (const [key, item] of fresh) {
      const old = store.get(key);
      if (!old) apply('ADDED', item);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) {
        apply('MODIFIED', item);
      }
    }
    resourceVersion = response.metadata?.resourceVersion ?? '';
  };

  const watch = async (): Promise<'relist' | 'rewatch'> => {
    let outcome: 'relist' | 'rewatch' = 'rewatch';
    await api.watchOnce<T | StatusObject>(
      path,
      {
        ...options.query,
        resourceVersion,
        allowWatchBookmarks: true,
        // The server ends the watch after this; we then resume from the last resourceVersion.
        timeoutSeconds: 240 + Math.floor(Math.random() * 60),
      },
      (event: WatchEvent<T | StatusObject>) => {
        if (event.type === 'ERROR') {
          const status = event.object as StatusObject;
          if (status.code === 410) outcome = 'relist';
          else logger.warn(`watch ${path}: ${status.message ?? JSON.stringify(status)}`);
          return;
        }
        const object = event.object as T;
        const rv = object.metadata?.resourceVersion;
        if (rv) resourceVersion = rv;
        if (event.type === 'BOOKMARK') return;
        apply(event.type, object);
      },
      abort.signal,
    );
    return outcome;
  };

  void (async () => {
    let backoff = minBackoff;
    let needList = true;
    while (!abort.signal.aborted) {
      try {
        if (needList) {
          await list();
          needList = false;
          resolveSynced();
        }
        const outcome = await watch();
        if (outcome === 'relist') needList = true;
        backoff = minBackoff;
        continue;
      } catch (err) {
        if (abort.signal.aborted) break;
        if (err instanceof KubeApiError && err.status === 410) {
          needList = true;
        } else {
          logger.debug(`reflector ${path}: ${String(err)}; retrying in ${backoff} ms`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  })();

  return {
    store,
    synced,
    get: (namespace, name) => store.get(`${namespace ?? ''}/${name}`),
    stop: () => abort.abort(),
  };
}
