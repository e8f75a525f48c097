// Writes one pod's status through the status subresource, like kubelet's status manager: a
// strategic merge patch (conditions merge by type, so conditions owned by others survive) that
// carries metadata.uid as a precondition, only when the status changed, coalescing bursts, and
// retrying failures with back-off. A pod that is gone (404) or was replaced (uid conflict) stops it.
import type { IPodStatus } from 'kubernetes-models/v1/PodStatus';
import { KubeApiError, STRATEGIC_MERGE_PATCH, type KubeApi } from './kube-api.ts';
import type { Logger } from './logger.ts';

export interface StatusWriter {
  /** The status to converge to; written asynchronously. */
  set(status: IPodStatus): void;
  /** Resolves when the latest status has been written (or the pod is gone). */
  flush(): Promise<void>;
  readonly gone: boolean;
  close(): void;
}

/**
 * Conditions merge by type, so a field we leave out keeps its old value: a condition that turned
 * True must say reason/message null to drop the False one's explanation.
 */
function patchable(status: IPodStatus): unknown {
  return {
    ...status,
    conditions: status.conditions?.map((condition) => ({
      reason: null,
      message: null,
      ...condition,
    })),
  };
}

export function createStatusWriter(
  api: KubeApi,
  pod: { namespace: string; name: string; uid: string },
  logger: Logger,
): StatusWriter {
  const path = `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}/status`;
  let desired: IPodStatus | undefined;
  let written = '';
  let writing: Promise<void> | undefined;
  let gone = false;
  let closed = false;
  const waiters: (() => void)[] = [];

  const loop = async (): Promise<void> => {
    // Yield first: `writing` must be assigned before this can finish and clear it.
    await Promise.resolve();
    let backoff = 100;
    while (!gone && desired) {
      const body = JSON.stringify(desired);
      if (body === written) break;
      try {
        await api.request('PATCH', path, {
          contentType: STRATEGIC_MERGE_PATCH,
          body: { metadata: { uid: pod.uid }, status: patchable(desired) },
        });
        written = body;
        backoff = 100;
      } catch (err) {
        if (err instanceof KubeApiError && (err.status === 404 || err.status === 409)) {
          logger.debug(`pod ${pod.namespace}/${pod.name}: status not written: ${String(err)}`);
          gone = true;
          break;
        }
        if (closed) break;
        logger.warn(`pod ${pod.namespace}/${pod.name}: status update failed: ${String(err)}`);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
    writing = undefined;
    for (const waiter of waiters.splice(0)) waiter();
  };

  return {
    set(status) {
      if (gone) return;
      desired = status;
      writing ??= loop();
    },
    flush() {
      if (!writing) return Promise.resolve();
      return new Promise((resolve) => {
        waiters.push(resolve);
      });
    },
    get gone() {
      return gone;
    },
    close() {
      closed = true;
      gone = true;
      for (const waiter of waiters.splice(0)) waiter();
    },
  };
}
