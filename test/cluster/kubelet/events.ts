// Pod events as kubelet records them (core/v1 Events, source component "kubelet"): Pulled,
// Created, Started, Killing, BackOff, Unhealthy, FailedMount, Failed... A repeat of the same
// reason and message for the same object bumps the count of the first Event, like client-go's
// event correlator. Fire and forget: an event that cannot be written is dropped.
import type { IPod } from 'kubernetes-models/v1/Pod';
import { MERGE_PATCH, type KubeApi } from './kube-api.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(pod: IPod, type: EventType, reason: string, message: string, fieldPath?: string): void;
}

export function createEventRecorder(api: KubeApi, host: string): EventRecorder {
  const seen = new Map<string, { name: string; count: number }>();
  return {
    record(pod, type, reason, message, fieldPath) {
      const namespace = pod.metadata?.namespace ?? 'default';
      const key = `${pod.metadata?.uid} ${fieldPath ?? ''} ${type} ${reason} ${message}`;
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const previous = seen.get(key);
      if (previous) {
        previous.count++;
        void api
          .request('PATCH', `/api/v1/namespaces/${namespace}/events/${previous.name}`, {
            contentType: MERGE_PATCH,
            body: { count: previous.count, lastTimestamp: now },
          })
          .catch(() => undefined);
        return;
      }
      const name = `${pod.metadata?.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 4096).toString(16)}`;
      seen.set(key, { name, count: 1 });
      if (seen.size > 5_000) seen.delete(seen.keys().next().value!);
      void api
        .request('POST', `/api/v1/namespaces/${namespace}/events`, {
          body: {
            apiVersion: 'v1',
            kind: 'Event',
            metadata: { name, namespace },
            involvedObject: {
              apiVersion: 'v1',
              kind: 'Pod',
              name: pod.metadata?.name,
              namespace,
              uid: pod.metadata?.uid,
              resourceVersion: pod.metadata?.resourceVersion,
              ...(fieldPath ? { fieldPath } : {}),
            },
            reason,
            message,
            type,
            count: 1,
            firstTimestamp: now,
            lastTimestamp: now,
            source: { component: 'kubelet', host },
            reportingComponent: 'kubelet',
            reportingInstance: host,
          },
        })
        .catch(() => undefined);
    },
  };
}
