// Applies the session scaler to one awake server: on every session opened or closed (and when a
// held-back scale-down may go through) it asks the runtime for the recommended replica count.
// Only where the runtime can scale and this controller may decide (the leader).
import type { Scaling } from '../../registry/catalog/spec.ts';
import type { EventLog } from '../fleet/event-log.ts';
import type { Logger } from '../observability/log.ts';
import { SessionScaler } from './session-scaler.ts';

export interface SessionFollowerOptions {
  server: string;
  scaling: Scaling;
  windowMs?: number;
  events: EventLog;
  logger: Logger;
  /** Live sessions of the server on this controller. */
  sessions: () => number;
  /** What to scale, or undefined while this controller may not scale the server now. */
  target: () => { scale(count: number): Promise<void> } | undefined;
}

export class SessionFollower {
  private readonly options: SessionFollowerOptions;
  private scaler: SessionScaler;
  /** Replicas last asked of the runtime (1 from each wake). */
  private scaledTo = 1;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: SessionFollowerOptions) {
    this.options = options;
    this.scaler = new SessionScaler(options.scaling, options.windowMs);
  }

  update(): void {
    clearTimeout(this.timer);
    const target = this.options.target();
    if (!target) return;
    const sessions = this.options.sessions();
    const next = this.scaler.decide(sessions, this.scaledTo);
    if (next !== this.scaledTo) {
      this.scaledTo = next;
      this.options.events.event({
        server: this.options.server,
        type: 'scale',
        message: `${next} replica${next === 1 ? '' : 's'} for ${sessions} sessions`,
        data: { replicas: next, sessions },
      });
      target
        .scale(next)
        .catch((err: unknown) => this.options.logger.warn({ err }, 'could not scale'));
    }
    // A scale-down held back by the stabilization window is reviewed when the window allows.
    const review = next > 1 ? this.scaler.nextReview() : undefined;
    if (review !== undefined) {
      this.timer = setTimeout(() => this.update(), Math.max(100, review));
      this.timer.unref();
    }
  }

  /** The server went away (sleep, crash): the next wake starts from one replica. */
  reset(): void {
    clearTimeout(this.timer);
    this.scaler.reset();
    this.scaledTo = 1;
  }

  /** The registry changed the server's scaling. */
  setScaling(scaling: Scaling): void {
    this.scaler = new SessionScaler(scaling, this.options.windowMs);
  }
}
