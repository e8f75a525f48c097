// Applies the session scaler to one awake server: on every session opened or closed (and when a
// held-back scale-down may go through) it asks the runtime for the recommended replica count.
// Only where the runtime can scale and this controller may decide (the leader). The count is
// every controller replica's (live-marks.ts), so the leader also looks again every few
// seconds: sessions opened through other replicas change it without telling this one.
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
  /** Live sessions of the server, across controller replicas. */
  sessions: () => number | Promise<number>;
  /** How often the leader looks again while it scales the server (default 10 s). */
  reviewEveryMs?: number;
  /** What to scale, or undefined while this controller may not scale the server now. */
  target: () => { scale(count: number): Promise<void> } | undefined;
}

export class SessionFollower {
  private readonly options: SessionFollowerOptions;
  private scaler: SessionScaler;
  /** Replicas last asked of the runtime (1 from each wake). */
  private scaledTo = 1;
  private timer: NodeJS.Timeout | undefined;
  /** Decisions one after another: each reads the count, then may scale. */
  private deciding: Promise<void> = Promise.resolve();

  constructor(options: SessionFollowerOptions) {
    this.options = options;
    this.scaler = new SessionScaler(options.scaling, options.windowMs);
  }

  update(): void {
    this.deciding = this.deciding
      .then(() => this.decide())
      .catch((err: unknown) => this.options.logger.warn({ err }, 'scaling decision failed'));
  }

  /** Resolves when the decisions asked for so far are made (tests, shutdown). */
  settled(): Promise<void> {
    return this.deciding;
  }

  private async decide(): Promise<void> {
    clearTimeout(this.timer);
    if (!this.options.target()) return;
    const sessions = await this.options.sessions();
    const target = this.options.target(); // leadership or state may have changed meanwhile
    if (!target) return;
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
    // A scale-down held back by the stabilization window is reviewed when the window allows;
    // other replicas' sessions are looked at again every reviewEveryMs.
    const every = this.options.reviewEveryMs ?? 10_000;
    const held = next > 1 ? this.scaler.nextReview() : undefined;
    const review = Math.min(held ?? every, every);
    this.timer = setTimeout(() => this.update(), Math.max(100, review));
    this.timer.unref();
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
