// One server's lifecycle: the state machine behind asleep | waking | ready | draining |
// unhealthy | failed | unavailable, the same for every runtime and replica count. This file
// decides the initial state, starts wakes and installs the replica a wake brought up, takes the
// replica away, and carries the management commands; its pieces make the other transitions:
// waker.ts (one wake at a time, the hold queue, the deadline), crash-recovery.ts (restart or
// fail after a crash), idle-sleep.ts (drain and sleep when idle or asked).
//
// Single-threaded invariants that make "no request lost at the moment of sleep" hold:
// a lease is taken synchronously while the state is ready/draining; the decision to sleep
// is taken synchronously when no request lease is out; after that, the state is `asleep`
// and any new request starts a new wake.
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import { formatDuration } from '../../registry/catalog/duration.ts';
import type { McpProbe } from '../health/mcp-probe.ts';
import type { Logger } from '../observability/log.ts';
import type { Replica, StopIntent } from '../runtime/runtime.ts';
import { AwakeReplica, type InFlightHooks } from './awake-replica.ts';
import { CrashRecovery } from './crash-recovery.ts';
import { FleetError, type AcquireOptions } from './fleet.ts';
import { HealthMarks } from './health-marks.ts';
import { IdleSleep } from './idle-sleep.ts';
import { LifecycleState, type LifecycleMoves } from './lifecycle-core.ts';
import type { Refusals } from './refusals.ts';
import type { ServerContext } from './server-context.ts';
import { Waker } from './waker.ts';

export interface ServerLifecycleOptions {
  spec: ServerSpec;
  ctx: ServerContext;
  logger: Logger;
  refusals: Refusals;
  /** The replica was taken away; `stopping`: because the controller stops. */
  onReplicaGone(stopping: boolean): void;
}

export class ServerLifecycle implements LifecycleMoves {
  spec: ServerSpec;
  readonly state: LifecycleState;
  /** When the server last saw traffic, and how it goes to sleep. */
  readonly idle: IdleSleep;
  /** Why the server is unhealthy while it serves (its output floods the log), if it is. */
  readonly healthMarks: HealthMarks;
  private readonly options: ServerLifecycleOptions;
  private readonly ctx: ServerContext;
  private readonly waker: Waker;
  private readonly crashes: CrashRecovery;
  private readonly inFlightHooks: InFlightHooks;
  private running: AwakeReplica | undefined;
  private wakeDurationMs: number | null = null;

  constructor(options: ServerLifecycleOptions) {
    const { ctx, refusals, logger } = options;
    const slug = options.spec.slug;
    this.options = options;
    this.spec = options.spec;
    this.ctx = ctx;
    this.state = new LifecycleState(slug, logger, ctx.events);
    this.healthMarks = new HealthMarks(slug, ctx.events);
    this.crashes = new CrashRecovery({
      slug,
      ctx,
      refusals,
      lifecycle: this,
      replicaId: () => this.running?.replica.id,
      failHeld: (error) => this.waker.failHeld(error),
    });
    this.waker = new Waker({
      slug,
      ctx,
      logger,
      refusals,
      stopped: () => this.state.stopped,
      onChildCrash: (replicaId, reason) => this.crashes.childCrashed(replicaId, reason),
      onChildStart: (replicaId, outcome) => this.crashes.childStart(replicaId, outcome),
      healthMarks: this.healthMarks,
    });
    this.idle = new IdleSleep({
      slug,
      ctx,
      lifecycle: this,
      waking: () => this.waker.waking,
      held: () => this.waker.held,
    });
    this.inFlightHooks = {
      requestStarted: (first) => {
        if (first) ctx.activity.busy(slug, true);
        this.idle.clearIdleTimer();
      },
      leaseEnded: () => this.idle.recordActivity(),
      requestsDone: () => {
        ctx.activity.busy(slug, false);
        this.idle.requestsDone();
      },
    };
  }

  get slug(): string {
    return this.spec.slug;
  }

  /** The replica it runs now, while ready or draining. */
  get awake(): AwakeReplica | undefined {
    return this.running;
  }

  get inFlight(): number {
    return this.running?.inFlight ?? 0;
  }

  get lastWakeDurationMs(): number | null {
    return this.wakeDurationMs;
  }

  get idleTimeoutMs(): number {
    return this.ctx.idleTimeoutOverrideMs ?? this.spec.scaling.idleTimeoutMs;
  }

  /** The controller is shutting down (in its grace, or past it): nothing new is taken on. */
  get shuttingDown(): boolean {
    return this.state.closing || this.state.stopped;
  }

  get alwaysOn(): boolean {
    return this.spec.kind === 'remote' || this.spec.scaling.minReplicas > 0;
  }

  /**
   * Decides the initial state. A remote runs elsewhere and never sleeps, but it is only
   * `ready` once it answered an MCP round trip (then health-checked like any server);
   * minReplicas > 0 wake now.
   */
  init(): void {
    const check = this.ctx.runtime.check(this.spec);
    if (!check.ok) {
      this.state.set('unavailable', check.reason);
      return;
    }
    this.state.set('asleep', null);
    // minReplicas > 0 never sleeps; a replica already running (a controller restarting in a
    // cluster) is adopted now, so its idle timer runs even if no request ever comes.
    if (this.alwaysOn || this.ctx.runtime.running?.(this.spec)) this.startWake('wake');
  }

  /** A new spec: the idle timer is re-armed with its timeout; launch settings wait for a wake. */
  specChanged(spec: ServerSpec): void {
    this.spec = spec;
    if (this.state.current === 'ready') this.idle.schedule();
  }

  /** Activator: waits (bounded queue) for the wake in progress, starting one if asleep. */
  async holdForWake(options: AcquireOptions): Promise<void> {
    if (this.shuttingDown) throw this.options.refusals.shuttingDown();
    // After a failed start, no new start before the backoff passed (a wake in progress is joined).
    if (this.state.current === 'asleep' && this.crashes.startBackoffMs() > 0)
      throw this.crashes.backingOff();
    const held = this.waker.hold(options.signal);
    this.ensureWake();
    await held;
  }

  private ensureWake(): void {
    if (this.state.current === 'asleep') this.startWake('wake');
    // waking: joins it; unhealthy: the scheduled restart will release the held requests.
  }

  startWake(kind: 'wake' | 'restart'): void {
    if (this.waker.waking || this.shuttingDown) return;
    this.state.set('waking', kind === 'restart' ? this.state.reason : null);
    this.waker.start(this.spec, {
      woke: (replica, probe, durationMs) => this.woke(kind, replica, probe, durationMs),
      failed: (err, durationMs) => this.crashes.wakeFailed(err, durationMs),
    });
  }

  private woke(
    kind: 'wake' | 'restart',
    replica: Replica,
    probe: McpProbe,
    durationMs: number,
  ): void {
    const { ctx, slug } = this;
    const awake = (this.running = new AwakeReplica(replica, this.inFlightHooks));
    this.wakeDurationMs = durationMs;
    this.crashes.started();
    this.idle.lastActivityMs ??= Date.now();
    this.state.set('ready', null);
    ctx.metrics.wakes.inc({ server: slug, outcome: 'ok' });
    ctx.metrics.wakeDuration.observe({ server: slug }, durationMs / 1000);
    ctx.events.event({
      server: slug,
      type: 'wake',
      durationMs,
      message: `ready in ${formatDuration(durationMs)}`,
      data: { kind, replica: replica.id },
    });
    void replica.exited.then((exit) => {
      if (this.running !== awake) return;
      if (exit.sleptElsewhere) void this.idle.goAsleep('elsewhere');
      else if (!exit.expected) this.crashes.crashed(`MCP server process ${exit.reason}`, 'crash');
    });
    awake.watchHealth(this.crashes.healthMonitor(probe));
    ctx.coord
      .publish('mcpfleet:ready', slug)
      .catch((err: unknown) => this.options.logger.debug({ err }, 'could not publish readiness'));
    this.waker.releaseHeld();
    this.idle.schedule();
  }

  cancelPending(): void {
    this.waker.invalidate();
    this.clearTimers();
  }

  clearTimers(): void {
    this.idle.clearTimers();
    this.crashes.cancelRestart();
  }

  async teardownReplica(intent: StopIntent): Promise<void> {
    const { ctx, slug } = this;
    const awake = this.running;
    this.running = undefined;
    awake?.takeAway(new Error(`server ${slug} is going away`));
    ctx.activity.busy(slug, false);
    this.options.onReplicaGone(this.state.stopped);
    if (awake)
      await awake.replica
        .stop(intent)
        .catch((err: unknown) => this.options.logger.error({ err }, 'could not stop replica'));
    ctx.metrics.children.set({ server: slug }, 0);
  }

  // ---- management ----

  /** Wakes the server (a failed one too) and resolves once it is ready. */
  async wake(): Promise<void> {
    const { state } = this;
    if (this.shuttingDown) throw this.options.refusals.shuttingDown();
    if (state.current === 'unavailable') throw this.options.refusals.unavailable(state.reason);
    if (state.current === 'failed') {
      this.crashes.reset();
      state.set('asleep', null);
    }
    if (state.current === 'draining') return this.idle.cancelIdleDrain();
    if (state.current === 'ready') return;
    if (state.current === 'unhealthy') this.crashes.restartNow();
    this.idle.recordActivity();
    this.ensureWake();
    await this.waker.waking;
    if (!state.awake) {
      throw new FleetError(
        503,
        state.current === 'failed' ? 'failed' : 'unavailable',
        `server ${this.slug} did not wake: ${state.lastError ?? state.current}`,
      );
    }
  }

  /** Drains the server (waiting for its requests in flight) and resolves once it is asleep. */
  sleep(): Promise<void> {
    return this.idle.sleep();
  }

  /**
   * The controller begins to shut down: new requests are refused (503), and so are those held
   * for a wake (they never reached a server, so the client may send them elsewhere); requests
   * in flight go on until they end or `stop()` takes the replica away.
   */
  beginShutdown(): void {
    this.state.closing = true;
    this.waker.failHeld(this.options.refusals.shuttingDown());
  }

  /** The controller stops: held requests fail, and the replica is released, not scaled down. */
  async stop(): Promise<void> {
    const { ctx, slug } = this;
    this.state.stopped = true;
    this.cancelPending();
    if (this.running && this.spec.kind === 'workload')
      ctx.events.event({
        server: slug,
        type: 'shutdown',
        message: 'the controller stopped; its replica was released',
        data: { replica: this.running.replica.id },
      });
    this.waker.failHeld(this.options.refusals.shuttingDown());
    await this.waker.waking?.catch(() => {});
    await this.teardownReplica('shutdown');
    // Nothing runs for it here any more: its status says so (an unavailable or failed server
    // keeps saying why).
    if (this.state.current !== 'unavailable' && this.state.current !== 'failed')
      this.state.set('asleep', 'the controller stopped');
  }
}
