// What the pieces of one server's lifecycle share (the waker, crash recovery, idle sleep): its
// state, changed only through `LifecycleState.set`, which logs every change and records it as
// a status event; and the moves a transition makes, which ServerLifecycle implements.
import type { ServerState } from '../api/types.ts';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import type { Logger } from '../observability/log.ts';
import type { StopIntent } from '../runtime/runtime.ts';
import type { EventLog } from './event-log.ts';

export class LifecycleState {
  /** The last crash, failed start or failed health check. */
  lastError: string | null = null;
  /**
   * The controller is shutting down: new requests are refused while those in flight finish
   * (the shutdown grace). `stopped` follows once the grace is over.
   */
  closing = false;
  /** The controller is stopping the server: nothing starts any more. */
  stopped = false;
  private readonly slug: string;
  private readonly log: Logger;
  private readonly events: EventLog;
  private value: ServerState = 'asleep';
  private why: string | null = null;

  constructor(slug: string, log: Logger, events: EventLog) {
    this.slug = slug;
    this.log = log;
    this.events = events;
  }

  get current(): ServerState {
    return this.value;
  }

  /** Why it is in its state (draining, unhealthy, failed, unavailable), if it says. */
  get reason(): string | null {
    return this.why;
  }

  /** A replica serves it: ready, or draining. */
  get awake(): boolean {
    return this.value === 'ready' || this.value === 'draining';
  }

  set(state: ServerState, reason: string | null): void {
    if (this.value === state && this.why === reason) return;
    this.value = state;
    this.why = reason;
    this.log.info({ state, reason }, `server ${state}`);
    this.events.status(this.slug, state, reason);
  }
}

/** The moves of a transition, made by ServerLifecycle for its pieces. */
export interface LifecycleMoves {
  readonly state: LifecycleState;
  readonly spec: ServerSpec;
  /** Never asleep: a remote (nothing of ours to stop), or minReplicas > 0. */
  readonly alwaysOn: boolean;
  /** Request leases out on the running replica. */
  readonly inFlight: number;
  readonly idleTimeoutMs: number;
  startWake(kind: 'wake' | 'restart'): void;
  /** A wake in progress stops counting, and every timer (idle, drain, restart) stops. */
  cancelPending(): void;
  /** Every timer stops. */
  clearTimers(): void;
  /** Takes the replica away (aborting its leases); resolves once its processes are gone. */
  teardownReplica(intent: StopIntent): Promise<void>;
}
