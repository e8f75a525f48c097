// The API PodStatus as kubelet generates it (pkg/kubelet/kubelet_pods.go getPhase and
// generateAPIPodStatus, pkg/kubelet/status/generate.go): phase from the container statuses,
// the kubelet-owned conditions PodReadyToStartContainers, Initialized, Ready, ContainersReady
// and PodScheduled, IPs and start time.
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IContainerStatus } from 'kubernetes-models/v1/ContainerStatus';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IPodCondition } from 'kubernetes-models/v1/PodCondition';
import type { IPodStatus } from 'kubernetes-models/v1/PodStatus';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export const isSidecar = (container: IContainer): boolean => container.restartPolicy === 'Always';

const TERMINAL: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);
export const isTerminalPhase = (phase: string | undefined): boolean => TERMINAL.has(phase ?? '');

const hasAnyRegularContainerStarted = (pod: IPod, statuses: IContainerStatus[]): boolean =>
  (pod.spec?.containers ?? []).some((container) => {
    const status = statuses.find((s) => s.name === container.name);
    return Boolean(
      status?.state?.running || status?.state?.terminated || status?.lastState?.terminated,
    );
  });

/** getPhase, line for line (restartable init containers included). */
export function podPhase(
  pod: IPod,
  statuses: IContainerStatus[],
  podIsTerminal: boolean,
): PodPhase {
  const spec = pod.spec!;
  const find = (name: string) => statuses.find((s) => s.name === name);
  let pendingInitialization = 0;
  let failedInitialization = 0;
  for (const container of spec.initContainers ?? []) {
    if (isSidecar(container)) continue;
    const status = find(container.name);
    if (!status) {
      pendingInitialization++;
      continue;
    }
    if (status.state?.running) pendingInitialization++;
    else if (status.state?.terminated) {
      if (status.state.terminated.exitCode !== 0) failedInitialization++;
    } else if (status.state?.waiting) {
      if (status.lastState?.terminated) {
        if (status.lastState.terminated.exitCode !== 0) failedInitialization++;
      } else pendingInitialization++;
    } else pendingInitialization++;
  }

  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const container of spec.initContainers ?? []) {
    if (!isSidecar(container)) continue;
    const status = find(container.name);
    if (!status) {
      unknown++;
      continue;
    }
    if (status.state?.running) {
      if (!status.started) pendingInitialization++;
      running++;
    } else if (status.state?.terminated) {
      // not counted
    } else if (status.state?.waiting) {
      if (!status.lastState?.terminated) {
        pendingInitialization++;
        waiting++;
      }
    } else {
      pendingInitialization++;
      unknown++;
    }
  }
  for (const container of spec.containers) {
    const status = find(container.name);
    if (!status) {
      unknown++;
      continue;
    }
    if (status.state?.running) running++;
    else if (status.state?.terminated) {
      stopped++;
      if (status.state.terminated.exitCode === 0) succeeded++;
    } else if (status.state?.waiting) {
      if (status.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }

  if (failedInitialization > 0 && spec.restartPolicy === 'Never') return 'Failed';
  if ((pendingInitialization > 0 && !hasAnyRegularContainerStarted(pod, statuses)) || waiting > 0) {
    return 'Pending';
  }
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (spec.restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (spec.restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

type Condition = Omit<IPodCondition, 'lastTransitionTime'>;

function containersReady(pod: IPod, statuses: IContainerStatus[], phase: PodPhase): Condition {
  const unknown: string[] = [];
  const unready: string[] = [];
  const containers = [
    ...(pod.spec?.initContainers ?? []).filter(isSidecar),
    ...(pod.spec?.containers ?? []),
  ];
  for (const container of containers) {
    const status = statuses.find((s) => s.name === container.name);
    if (!status) unknown.push(container.name);
    else if (!status.ready) unready.push(container.name);
  }
  if ((phase === 'Succeeded' && unknown.length === 0) || phase === 'Failed') {
    return {
      type: 'ContainersReady',
      status: 'False',
      reason: phase === 'Failed' ? 'PodFailed' : 'PodCompleted',
    };
  }
  const messages: string[] = [];
  if (unknown.length) messages.push(`containers with unknown status: [${unknown.join(' ')}]`);
  if (unready.length) messages.push(`containers with unready status: [${unready.join(' ')}]`);
  if (messages.length) {
    return {
      type: 'ContainersReady',
      status: 'False',
      reason: 'ContainersNotReady',
      message: messages.join(', '),
    };
  }
  return { type: 'ContainersReady', status: 'True' };
}

function podReady(pod: IPod, ready: Condition): Condition {
  if (ready.status !== 'True') {
    return { type: 'Ready', status: ready.status, reason: ready.reason, message: ready.message };
  }
  const messages: string[] = [];
  for (const gate of pod.spec?.readinessGates ?? []) {
    const condition = pod.status?.conditions?.find((c) => c.type === gate.conditionType);
    if (!condition) {
      messages.push(
        `corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`,
      );
    } else if (condition.status !== 'True') {
      messages.push(
        `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${condition.status}`,
      );
    }
  }
  if (messages.length) {
    return {
      type: 'Ready',
      status: 'False',
      reason: 'ReadinessGatesNotReady',
      message: messages.join(', '),
    };
  }
  return { type: 'Ready', status: 'True' };
}

function initialized(pod: IPod, statuses: IContainerStatus[], phase: PodPhase): Condition {
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const container of pod.spec?.initContainers ?? []) {
    const status = statuses.find((s) => s.name === container.name);
    if (!status) {
      unknown.push(container.name);
      continue;
    }
    const done = isSidecar(container) ? Boolean(status.started) : status.ready;
    if (!done) incomplete.push(container.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) {
    return { type: 'Initialized', status: 'True', reason: 'PodCompleted' };
  }
  if (hasAnyRegularContainerStarted(pod, statuses)) return { type: 'Initialized', status: 'True' };
  const messages: string[] = [];
  if (unknown.length) messages.push(`containers with unknown status: [${unknown.join(' ')}]`);
  if (incomplete.length)
    messages.push(`containers with incomplete status: [${incomplete.join(' ')}]`);
  if (messages.length) {
    return {
      type: 'Initialized',
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: messages.join(', '),
    };
  }
  return { type: 'Initialized', status: 'True' };
}

/** Keeps lastTransitionTime stable while a condition's status does not change. */
export class ConditionClock {
  private readonly seen = new Map<string, { status: string; time: string }>();

  constructor(previous: IPodCondition[] | undefined) {
    for (const condition of previous ?? []) {
      if (condition.lastTransitionTime) {
        this.seen.set(condition.type, {
          status: condition.status,
          time: String(condition.lastTransitionTime),
        });
      }
    }
  }

  stamp(condition: Condition, now: string): IPodCondition {
    const seen = this.seen.get(condition.type);
    if (!seen || seen.status !== condition.status) {
      this.seen.set(condition.type, { status: condition.status, time: now });
    }
    const out: IPodCondition = {
      ...condition,
      lastTransitionTime: this.seen.get(condition.type)!.time,
    };
    if (!out.reason) delete out.reason;
    if (!out.message) delete out.message;
    return out;
  }
}

export interface PodStatusInput {
  pod: IPod;
  initContainerStatuses: IContainerStatus[];
  containerStatuses: IContainerStatus[];
  sandboxReady: boolean;
  podIP: string | undefined;
  hostIP: string;
  startTime: string;
  podIsTerminal: boolean;
  clock: ConditionClock;
  reason?: string;
  message?: string;
}

export const kubeTime = (date = new Date()): string => date.toISOString().replace(/\.\d+Z$/, 'Z');

export function generatePodStatus(input: PodStatusInput): IPodStatus {
  const { pod, clock } = input;
  const all = [...input.initContainerStatuses, ...input.containerStatuses];
  let phase = podPhase(pod, all, input.podIsTerminal);
  // Pods never leave a terminal phase.
  if (isTerminalPhase(pod.status?.phase) && phase !== pod.status?.phase) {
    phase = pod.status!.phase as PodPhase;
  }
  if (input.reason === 'DeadlineExceeded') phase = 'Failed';
  const now = kubeTime();
  const ready = containersReady(pod, all, phase);
  const conditions = [
    clock.stamp(
      { type: 'PodReadyToStartContainers', status: input.sandboxReady ? 'True' : 'False' },
      now,
    ),
    clock.stamp(initialized(pod, all, phase), now),
    clock.stamp(podReady(pod, ready), now),
    clock.stamp(ready, now),
    clock.stamp({ type: 'PodScheduled', status: 'True' }, now),
  ];
  const status: IPodStatus = {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: input.startTime,
    containerStatuses: input.containerStatuses,
  };
  if (input.initContainerStatuses.length)
    status.initContainerStatuses = input.initContainerStatuses;
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  if (input.reason) status.reason = input.reason;
  if (input.message) status.message = input.message;
  return status;
}
