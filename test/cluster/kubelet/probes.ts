// Probe workers with kubelet's semantics (pkg/kubelet/prober/worker.go): nothing before
// initialDelaySeconds, then one probe per periodSeconds bounded by timeoutSeconds; the result
// flips only after successThreshold / failureThreshold identical results in a row. A startup
// probe stops at its first success; a liveness or startup failure stops the worker (the
// container gets killed and a new worker probes the next instance).
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { runAction, type ActionTarget } from './handlers.ts';

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

export interface ProbeWorker {
  stop(): void;
}

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  probe: IProbe;
  target: ActionTarget;
  /** When the container instance started (ms since epoch). */
  startedAt: number;
  /** Called when the probe's result flips (and, for failure of liveness/startup, once). */
  onResult(success: boolean, message: string): void;
  /** Scales periods and delays down for tests (1 = real seconds). */
  timeScale?: number;
}

export function probeSettings(probe: IProbe, timeScale = 1) {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000 * timeScale,
    periodMs: Math.max(1, probe.periodSeconds ?? 10) * 1000 * timeScale,
    timeoutMs: Math.max(1, probe.timeoutSeconds ?? 1) * 1000 * timeScale,
    successThreshold: Math.max(1, probe.successThreshold ?? 1),
    failureThreshold: Math.max(1, probe.failureThreshold ?? 3),
  };
}

export function startProbeWorker(options: ProbeWorkerOptions): ProbeWorker {
  const { kind, probe, target, onResult } = options;
  const settings = probeSettings(probe, options.timeScale);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastResult: boolean | undefined;
  let resultRun = 0;
  let reported: boolean | undefined;

  const schedule = (at: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void tick(), Math.max(0, at - Date.now()));
  };

  const tick = async (): Promise<void> => {
    const began = Date.now();
    const result = await runAction(probe, target, settings.timeoutMs);
    if (stopped) return;
    if (lastResult === result.success) resultRun++;
    else {
      lastResult = result.success;
      resultRun = 1;
    }
    const holding =
      (!result.success && resultRun < settings.failureThreshold) ||
      (result.success && resultRun < settings.successThreshold);
    if (!holding && reported !== result.success) {
      reported = result.success;
      onResult(result.success, result.message);
    }
    if (!holding && kind === 'startup' && result.success) return; // started: done
    if (!holding && kind !== 'readiness' && !result.success) return; // the container gets killed
    schedule(began + settings.periodMs);
  };

  schedule(options.startedAt + settings.initialDelayMs);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
