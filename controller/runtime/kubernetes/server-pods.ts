// Every server pod of the namespace in one informer (one watch for the whole fleet, not one
// per server: 1,000 servers cost one connection), indexed by the server label. Waiters for
// "a usable pod of server X" are woken by the informer's deltas; a waiter checks the index
// again after registering, so a pod that appeared in between is never missed.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../observability/log.ts';
import { SERVER_COMPONENT, SERVER_LABEL } from '../../../registry/catalog/workload-names.ts';
import { podEndpoint, type PodEndpoint } from './pod-endpoint.ts';
import { SupervisedInformer } from './supervised-informer.ts';

type Listener = () => void;

export class ServerPods {
  private readonly informer: SupervisedInformer<V1Pod>;
  private readonly bySlug = new Map<string, Map<string, V1Pod>>();
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(kubeConfig: KubeConfig, namespace: string, logger: Logger) {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const labelSelector = `app.kubernetes.io/component=${SERVER_COMPONENT},${SERVER_LABEL}`;
    this.informer = new SupervisedInformer<V1Pod>({
      kubeConfig,
      path: `/api/v1/namespaces/${namespace}/pods`,
      list: () => core.listNamespacedPod({ namespace, labelSelector }),
      labelSelector,
      logger,
      onChange: (type, pod) => this.apply(type, pod),
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  get synced(): Promise<void> {
    return this.informer.synced;
  }

  get health(): {
    synced: boolean;
    lastAlive: number;
    restarts: number;
    lastError: string | undefined;
  } {
    const { isSynced: synced, lastAlive, restarts, lastError } = this.informer;
    return { synced, lastAlive, restarts, lastError };
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** Usable endpoints of a server's pods, newest first. */
  endpoints(slug: string): PodEndpoint[] {
    const pods = [...(this.bySlug.get(slug)?.values() ?? [])].sort((a, b) =>
      String(b.metadata?.creationTimestamp ?? '').localeCompare(
        String(a.metadata?.creationTimestamp ?? ''),
      ),
    );
    return pods.flatMap((pod) => podEndpoint(pod) ?? []);
  }

  /** The current endpoint of one pod by uid, or undefined once it is gone or not running. */
  endpoint(slug: string, uid: string): PodEndpoint | undefined {
    for (const pod of this.bySlug.get(slug)?.values() ?? [])
      if (pod.metadata?.uid === uid) return podEndpoint(pod);
    return undefined;
  }

  /** Calls `listener` on every change to the pods of `slug`; returns the unsubscribe. */
  watch(slug: string, listener: Listener): () => void {
    let set = this.listeners.get(slug);
    if (!set) this.listeners.set(slug, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(slug);
    };
  }

  /** Resolves with the first endpoint `pick` accepts; rejects when `signal` aborts. */
  waitFor(
    slug: string,
    pick: (endpoints: PodEndpoint[]) => PodEndpoint | undefined,
    signal: AbortSignal,
  ): Promise<PodEndpoint> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = pick(this.endpoints(slug));
        if (!found) return false;
        done();
        resolve(found);
        return true;
      };
      const onAbort = (): void => {
        done();
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const unwatch = this.watch(slug, () => void check());
      const done = (): void => {
        unwatch();
        signal.removeEventListener('abort', onAbort);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }

  private apply(type: 'upsert' | 'delete', pod: V1Pod): void {
    const slug = pod.metadata?.labels?.[SERVER_LABEL];
    const uid = pod.metadata?.uid;
    if (!slug || !uid) return;
    let pods = this.bySlug.get(slug);
    if (type === 'delete') {
      pods?.delete(uid);
      if (pods?.size === 0) this.bySlug.delete(slug);
    } else {
      if (!pods) this.bySlug.set(slug, (pods = new Map()));
      pods.set(uid, pod);
    }
    for (const listener of [...(this.listeners.get(slug) ?? [])]) listener();
  }
}
