// A list+watch cache that never gives up. @kubernetes/client-node's informer relists on 410 and
// resumes from the last resourceVersion after a watch timeout, but any other error (a 5xx, 429,
// a refused connection while the apiserver restarts) stops it for good. This supervisor restarts
// it with capped, jittered exponential back-off, resuming from the last resourceVersion (the
// informer keeps it across start()), and reports health as the time since the last sign of life.
import {
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from '../../observability/log.ts';

export interface SupervisedInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /api/v1/namespaces/ns/pods */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  logger: Logger;
  /** Called for every add/update (with the new object) and delete. */
  onChange: (type: 'upsert' | 'delete', object: T) => void;
  /** First restart delay; doubles up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

export class SupervisedInformer<T extends KubernetesObject> {
  private readonly options: SupervisedInformerOptions<T>;
  private readonly informer;
  private readonly log: Logger;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private syncedResolve: (() => void) | undefined;
  /** Resolves once the first list has been applied. */
  readonly synced: Promise<void>;
  isSynced = false;
  /** ms timestamp of the last connect or event; 0 before the first. */
  lastAlive = 0;
  /** Restarts after an error (metrics, tests). */
  restarts = 0;
  lastError: string | undefined;

  constructor(options: SupervisedInformerOptions<T>) {
    this.options = options;
    this.log = options.logger.child({ informer: options.path });
    this.backoffMs = options.baseBackoffMs ?? 500;
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
    void this.synced.then(() => (this.isSynced = true));
    this.informer = makeInformer<T>(
      options.kubeConfig,
      options.path,
      async () => {
        const list = await options.list();
        // The list is applied right after this returns; mark the cache synced on the next tick.
        queueMicrotask(() => setImmediate(() => this.syncedResolve?.()));
        return list;
      },
      options.labelSelector,
    );
    const alive = (): void => {
      this.lastAlive = Date.now();
      this.backoffMs = this.options.baseBackoffMs ?? 500;
    };
    this.informer.on('add', (object) => (alive(), options.onChange('upsert', object)));
    this.informer.on('update', (object) => (alive(), options.onChange('upsert', object)));
    this.informer.on('delete', (object) => (alive(), options.onChange('delete', object)));
    this.informer.on('connect', () => {
      this.lastAlive = Date.now();
    });
    this.informer.on('error', (err: unknown) => this.onError(err));
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start().catch((err: unknown) => this.onError(err));
  }

  /** The cached objects (the informer's own cache). */
  list(): readonly T[] {
    return this.informer.list();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.informer.stop();
  }

  private onError(err: unknown): void {
    if (this.stopped || this.restartTimer) return;
    this.lastError = err instanceof Error ? err.message : String(err);
    const maxMs = this.options.maxBackoffMs ?? 30_000;
    // Full jitter: replicas that lost the apiserver together do not come back together.
    const delay = Math.round(this.backoffMs / 2 + Math.random() * (this.backoffMs / 2));
    this.backoffMs = Math.min(this.backoffMs * 2, maxMs);
    this.restarts += 1;
    this.log.warn({ err: this.lastError, retryInMs: delay }, 'watch failed; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) void this.start();
    }, delay);
    this.restartTimer.unref();
  }
}
