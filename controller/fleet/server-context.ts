// What every server of a fleet shares, handed to each ManagedServer by the Fleet that builds
// them: the runtime, the event log and metrics, the coordination store and the records kept
// in it (activity, client sessions), and the fleet-wide settings of the lifecycle (hold bound,
// idle and drain timings, crash-loop policy, leadership among controller replicas).
import type { Coord } from '../coord/coord.ts';
import type { CrashLoopOptions } from '../health/crash-loop.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { ActivityRecorder } from '../scaler/activity-recorder.ts';
import type { SessionBook } from '../sessions/session-book.ts';
import type { EventLog } from './event-log.ts';

export interface ServerContext {
  runtime: Runtime;
  events: EventLog;
  metrics: Metrics;
  logger: Logger;
  coord: Coord;
  activity: ActivityRecorder;
  /** Client-facing sessions of every server (shared with other controller replicas). */
  sessions: SessionBook;
  /** This controller's identity for wake locks. */
  ownerId: string;
  maxHeld: number;
  idleTimeoutOverrideMs?: number;
  /** How long an idle server stays `draining` before it sleeps; default 500 ms. */
  drainGraceMs?: number;
  /** Longest a manual sleep waits for in-flight requests; default 30 s. */
  manualDrainTimeoutMs?: number;
  crashLoop?: CrashLoopOptions;
  /**
   * With several controller replicas, only the leader puts idle servers to sleep; the others
   * follow (their replica ends with `sleptElsewhere`). Absent: this controller decides alone.
   */
  leadership?: { isLeader(): boolean };
  /** Stabilization window before replicas follow sessions down; default 60 s. */
  scaleDownWindowMs?: number;
}

/** Whether this controller puts servers to sleep and scales them: the leader, or the only one. */
export function leads(ctx: ServerContext): boolean {
  return !ctx.leadership || ctx.leadership.isLeader();
}
