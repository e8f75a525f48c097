// How one server goes to sleep. Idle: no request in flight and no traffic for idleTimeout
// (here, or at another controller replica through the shared activity record), it drains for a
// short grace — a request meanwhile cancels the drain — then sleeps. Asked (the management
// API): it drains until its requests in flight finish (at most manualDrainTimeoutMs), then
// sleeps. Only the leader of several controller replicas decides; a follower looks again every
// 2 s (it may become the leader meanwhile) and sleeps when the leader's sleep reaches it.
import { formatDuration } from '../../registry/catalog/duration.ts';
import type { LifecycleMoves } from './lifecycle-core.ts';
import { leads, type ServerContext } from './server-context.ts';

/** How often a follower re-checks an idle server (it may become leader meanwhile). */
const FOLLOWER_IDLE_RECHECK_MS = 2_000;

export interface IdleSleepOptions {
  slug: string;
  ctx: ServerContext;
  lifecycle: LifecycleMoves;
  /** The wake in progress, if any: a manual sleep waits for it first. */
  waking: () => Promise<void> | undefined;
  /** Requests held for a wake: after a sleep they wake the server again. */
  held: () => number;
}

export type SleepReason = 'idle' | 'manual' | 'elsewhere';

export class IdleSleep {
  /** The server's last traffic, in Date.now() time; undefined before the first. */
  lastActivityMs: number | undefined;
  private readonly options: IdleSleepOptions;
  private idleTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private drainMode: 'idle' | 'manual' | undefined;
  private drainedWaiters: (() => void)[] = [];

  constructor(options: IdleSleepOptions) {
    this.options = options;
  }

  /** Traffic now: pushes idleness back, here and for the other controller replicas. */
  recordActivity(): void {
    const now = Date.now();
    this.lastActivityMs = now;
    this.options.ctx.activity.touch(this.options.slug, now);
  }

  /** Arms the idle timer anew while the server is ready with nothing in flight. */
  schedule(): void {
    this.clearIdleTimer();
    if (!this.readyWithNothingInFlight()) return;
    if (this.options.lifecycle.alwaysOn) return;
    const due =
      (this.lastActivityMs ?? Date.now()) + this.options.lifecycle.idleTimeoutMs - Date.now();
    this.idleTimer = setTimeout(() => void this.onIdle(), Math.max(0, due));
    this.idleTimer.unref();
  }

  clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  clearTimers(): void {
    this.clearIdleTimer();
    this.cancelGrace();
  }

  /** The last request in flight ended: a manual drain is over, else idleness starts. */
  requestsDone(): void {
    if (this.options.lifecycle.state.current === 'draining' && this.drainMode === 'manual') {
      void this.goAsleep('manual');
      return;
    }
    this.schedule();
  }

  /** A request arrived while the server drains because it was idle: it stays awake. */
  cancelIdleDrain(): void {
    const { lifecycle, ctx, slug } = this.options;
    if (lifecycle.state.current !== 'draining' || this.drainMode !== 'idle') return;
    this.cancelGrace();
    this.drainMode = undefined;
    lifecycle.state.set('ready', null);
    ctx.events.event({
      server: slug,
      type: 'drain-cancelled',
      message: 'a request arrived while draining',
    });
  }

  /** Drains the server and resolves once it is asleep (at once unless ready or draining). */
  async sleep(): Promise<void> {
    const { lifecycle, ctx } = this.options;
    const waking = this.options.waking();
    if (waking) await waking.catch(() => {});
    switch (lifecycle.state.current) {
      case 'ready':
      case 'draining': {
        const drained = new Promise<void>((resolve) => this.drainedWaiters.push(resolve));
        if (lifecycle.state.current === 'ready' || this.drainMode === 'idle') {
          this.cancelGrace();
          this.startDrain('manual');
        }
        const limit = ctx.manualDrainTimeoutMs ?? 30_000;
        const timer = setTimeout(() => {
          if (lifecycle.state.current === 'draining') void this.goAsleep('manual');
        }, limit).unref(); // a stopped controller must not wait for it to exit
        await drained;
        clearTimeout(timer);
        return;
      }
      case 'unhealthy':
        lifecycle.clearTimers();
        lifecycle.state.set('asleep', null);
        return;
      default:
        return;
    }
  }

  /** Asleep: the replica goes (scaled to zero, unless the leader did that elsewhere). */
  async goAsleep(reason: SleepReason): Promise<void> {
    const { lifecycle, ctx, slug } = this.options;
    lifecycle.cancelPending();
    this.drainMode = undefined;
    lifecycle.state.set('asleep', null);
    ctx.metrics.sleeps.inc({ server: slug, reason });
    ctx.events.event({
      server: slug,
      type: 'sleep',
      message:
        reason === 'idle'
          ? this.idleFor()
          : reason === 'manual'
            ? 'sleep requested'
            : 'put to sleep by the leading controller replica',
      data: { reason },
    });
    const waiters = this.drainedWaiters;
    this.drainedWaiters = [];
    // Asleep elsewhere: the replica is already gone; do not scale anything ourselves.
    await lifecycle.teardownReplica(reason === 'elsewhere' ? 'shutdown' : 'sleep');
    for (const resolve of waiters) resolve();
    // Requests held meanwhile (a replica whose pods all went away holds them) asked for the
    // server: wake it for them rather than leave them waiting for someone else's request.
    if (this.options.held() > 0 && lifecycle.state.current === 'asleep' && !lifecycle.state.stopped)
      lifecycle.startWake('wake');
  }

  private async onIdle(): Promise<void> {
    this.idleTimer = undefined;
    if (!this.readyWithNothingInFlight()) return;
    if (this.recentlyActive()) return this.schedule();
    // Another gateway replica may have seen traffic for this server.
    const { ctx, slug } = this.options;
    const shared = await ctx.activity.shared(slug);
    if (shared !== undefined && shared > (this.lastActivityMs ?? 0)) this.lastActivityMs = shared;
    if (!this.readyWithNothingInFlight()) return;
    if (this.recentlyActive()) return this.schedule();
    if (!leads(ctx)) {
      this.idleTimer = setTimeout(() => void this.onIdle(), FOLLOWER_IDLE_RECHECK_MS);
      this.idleTimer.unref();
      return;
    }
    this.startDrain('idle');
  }

  private startDrain(mode: 'idle' | 'manual'): void {
    const { lifecycle, ctx, slug } = this.options;
    this.drainMode = mode;
    lifecycle.state.set('draining', mode === 'idle' ? this.idleFor() : 'sleep requested');
    ctx.events.event({
      server: slug,
      type: 'drain',
      message: mode === 'idle' ? 'idle: draining before sleep' : 'sleep requested: draining',
    });
    if (mode === 'idle') {
      this.graceTimer = setTimeout(() => {
        this.graceTimer = undefined;
        if (lifecycle.state.current === 'draining' && lifecycle.inFlight === 0)
          void this.goAsleep('idle');
      }, ctx.drainGraceMs ?? 500);
      this.graceTimer.unref();
    } else if (lifecycle.inFlight === 0) {
      void this.goAsleep('manual');
    }
  }

  private cancelGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  private readyWithNothingInFlight(): boolean {
    return (
      this.options.lifecycle.state.current === 'ready' && this.options.lifecycle.inFlight === 0
    );
  }

  private idleFor(): string {
    return `idle for ${formatDuration(this.options.lifecycle.idleTimeoutMs)}`;
  }

  private recentlyActive(): boolean {
    return Date.now() - (this.lastActivityMs ?? 0) < this.options.lifecycle.idleTimeoutMs;
  }
}
