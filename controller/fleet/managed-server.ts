// One server's lifecycle: the state machine behind asleep | waking | ready | draining |
// unhealthy | failed | unavailable. It owns the replica, the hold queue (activator), the
// idle timer (scaler) and the health monitor, and it is the only code that changes state.
//
// Single-threaded invariants that make "no request lost at the moment of sleep" hold:
// a lease is taken synchronously while the state is ready/draining; the decision to sleep
// is taken synchronously when no request lease is out; after that, the state is `asleep`
// and any new request starts a new wake.
import type { ServerState, ServerStatus } from '../api/types.ts';
import type { Coord } from '../coord/coord.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import { formatDuration } from '../../registry/catalog/duration.ts';
import { HoldQueue } from '../activator/hold-queue.ts';
import { bringUp } from '../activator/bring-up.ts';
import { WakeTimeoutError } from '../activator/wake-lock.ts';
import { CrashLoop, type CrashLoopOptions } from '../health/crash-loop.ts';
import { HealthMonitor } from '../health/health-monitor.ts';
import { HealthReporter } from '../health/health-reporter.ts';
import type { McpProbe } from '../health/mcp-probe.ts';
import { isConnectionError } from '../mcp-client/post-message.ts';
import type { Replica, Runtime, StopIntent } from '../runtime/runtime.ts';
import type { ActivityRecorder } from '../scaler/activity-recorder.ts';
import { SessionFollower } from '../scaler/session-follower.ts';
import type { SessionBook } from '../sessions/session-book.ts';
import type { BackendBinding, ClientCall, SessionRecord } from '../sessions/session-record.ts';
import { ServerSessions } from '../sessions/server-sessions.ts';
import { chooseBackend } from './backend-choice.ts';
import type { EventLog } from './event-log.ts';
import { FleetError, type AcquireOptions, type Lease, type Upstream } from './fleet.ts';

/** A replay that reached nothing is tried again this often, this many times (≈ 5 s). */
const UNREACHABLE_REPLAY_PAUSE_MS = 250;
const UNREACHABLE_REPLAY_RETRIES = 20;

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

/** How often a follower re-checks an idle server (it may become leader meanwhile). */
const FOLLOWER_IDLE_RECHECK_MS = 2_000;

export class ManagedServer {
  spec: ServerSpec;
  private readonly ctx: ServerContext;
  private readonly log: Logger;
  private readonly hold: HoldQueue;
  private readonly crashLoop: CrashLoop;
  private state: ServerState = 'asleep';
  private reason: string | null = null;
  private lastError: string | null = null;
  private replica: Replica | undefined;
  private replicaAbort: AbortController | undefined;
  private monitor: HealthMonitor | undefined;
  /** Request leases out on the current replica; a fresh counter per replica. */
  private flight = { count: 0 };
  private lastActivityMs: number | undefined;
  private lastWakeDurationMs: number | null = null;
  private readonly sessions: ServerSessions;
  private waking: Promise<void> | undefined;
  private wakeDeadlineAt = 0;
  /** Bumped whenever an in-progress wake must not take effect any more. */
  private generation = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private drainMode: 'idle' | 'manual' | undefined;
  private drainedWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly follower: SessionFollower;

  constructor(spec: ServerSpec, ctx: ServerContext) {
    this.spec = spec;
    this.ctx = ctx;
    this.log = ctx.logger.child({ server: spec.slug });
    this.hold = new HoldQueue(ctx.maxHeld);
    this.hold.onSizeChange = (size) => ctx.metrics.heldRequests.set({ server: spec.slug }, size);
    this.crashLoop = new CrashLoop(ctx.crashLoop);
    this.sessions = new ServerSessions({
      slug: spec.slug,
      book: ctx.sessions,
      events: ctx.events,
      logger: this.log,
      resumes: () => this.spec.sessions.resume,
      onChange: () => this.follower.update(),
    });
    // Replicas follow sessions where the runtime can scale, while awake, decided by the leader.
    this.follower = new SessionFollower({
      server: spec.slug,
      scaling: spec.scaling,
      ...(ctx.scaleDownWindowMs !== undefined ? { windowMs: ctx.scaleDownWindowMs } : {}),
      events: ctx.events,
      logger: this.log,
      sessions: () => this.sessions.globalCount(),
      target: () => {
        const replica = this.replica;
        if (!replica?.scale || (this.state !== 'ready' && this.state !== 'draining')) return;
        if (this.ctx.leadership && !this.ctx.leadership.isLeader()) return;
        return { scale: (count: number) => replica.scale!(count) };
      },
    });
  }

  /**
   * The registry changed this server's spec: scaling and health apply now (the idle timer is
   * re-armed with the new timeout), launch settings with the next replica (next wake).
   */
  updateSpec(spec: ServerSpec): void {
    this.spec = spec;
    this.follower.setScaling(spec.scaling);
    if (this.state === 'ready') this.scheduleIdle();
  }

  get slug(): string {
    return this.spec.slug;
  }

  get idleTimeoutMs(): number {
    return this.ctx.idleTimeoutOverrideMs ?? this.spec.scaling.idleTimeoutMs;
  }

  /**
   * Decides the initial state. A remote runs elsewhere and never sleeps, but it is only
   * `ready` once it answered an MCP round trip (then health-checked like any server);
   * minReplicas > 0 wake now.
   */
  async init(): Promise<void> {
    const check = this.ctx.runtime.check(this.spec);
    if (!check.ok) {
      this.setState('unavailable', check.reason);
      return;
    }
    this.setState('asleep', null);
    // minReplicas > 0 never sleeps; a replica already running (a controller restarting in a
    // cluster) is adopted now, so its idle timer runs even if no request ever comes.
    if (this.alwaysOn || this.ctx.runtime.running?.(this.spec)) this.startWake('wake');
  }

  /** Never asleep: a remote (nothing of ours to stop), or minReplicas > 0. */
  private get alwaysOn(): boolean {
    return this.spec.kind === 'remote' || this.spec.scaling.minReplicas > 0;
  }

  // ---- the request path ----

  async acquire(options: AcquireOptions): Promise<Lease> {
    const id = options.sessionId;
    let record: SessionRecord | undefined;
    if (id !== undefined) {
      record = await this.sessions.find(id);
      if (!record) throw this.unknownSession();
      // Without replay a session dies with its backend: while no replica runs (and none runs
      // it for another controller replica) answer 404 so the client re-initializes, rather
      // than waking the server for a session it no longer has.
      if (!this.sessions.resumes && !this.awake() && !this.boundElsewhere(record)) {
        await this.sessions.closed(id);
        throw this.unknownSession();
      }
    }
    this.recordActivity();
    const unreachable = { replays: 0 };
    for (;;) {
      switch (this.state) {
        case 'unavailable':
          throw this.reject(
            new FleetError(
              503,
              'unavailable',
              `server ${this.slug} is unavailable: ${this.reason}`,
            ),
          );
        case 'failed':
          throw this.reject(
            new FleetError(503, 'failed', `server ${this.slug} failed: ${this.reason}`),
          );
        case 'ready':
        case 'draining':
          // A replica whose every pod just went away is about to be replaced (its exit is on
          // the way): hold the request for the restart instead of routing it nowhere.
          if (!this.replica?.backends || this.replica.backends().length > 0) {
            if (this.state === 'draining' && this.drainMode === 'idle') this.cancelDrain();
            const lease = await this.lease(options, record, unreachable);
            if (lease) return lease;
            break; // the replica went away under a replay: around again (a wake)
          }
          await this.holdForWake(options);
          break;
        default:
          if (options.kind === 'stream' && id !== undefined && !this.boundElsewhere(record!)) {
            // A GET stream never wakes a server: it waits, parked, until its session is bound
            // again (by the client's next request, through any controller replica).
            options.onPark?.();
            await this.sessions.changed(id, options.signal ?? new AbortController().signal);
            if (options.signal?.aborted) throw new FleetError(503, 'unavailable', 'client left');
            if (this.stopped)
              throw new FleetError(503, 'unavailable', 'the controller is shutting down', 1);
            record = await this.sessions.find(id, true);
            if (!record) throw this.unknownSession();
            break;
          }
          await this.holdForWake(options);
      }
    }
  }

  private awake(): boolean {
    return this.state === 'ready' || this.state === 'draining';
  }

  /** Bound to a backend that still runs for another controller replica (a cluster). */
  private boundElsewhere(record: SessionRecord): boolean {
    return record.backend !== undefined && this.ctx.runtime.running?.(this.spec) === true;
  }

  private unknownSession(): FleetError {
    return new FleetError(404, 'unknown-session', `session not found on server ${this.slug}`);
  }

  /** Activator: wait (bounded queue) for the wake in progress, starting one if asleep. */
  private async holdForWake(options: AcquireOptions): Promise<void> {
    if (this.stopped)
      throw new FleetError(503, 'unavailable', 'the controller is shutting down', 1);
    if (this.hold.size >= this.hold.capacity) throw this.overloaded();
    const held = this.hold.hold(options.signal);
    this.ensureWake();
    await held;
  }

  /** An initialize through `backend` minted a backend session: returns the client's id. */
  sessionOpened(
    backend: BackendBinding,
    initialize: Record<string, unknown>,
    backendEra?: 'modern',
  ): Promise<string> {
    return this.sessions.opened(backend, initialize, backendEra);
  }

  sessionClosed(sessionId: string): Promise<void> {
    return this.sessions.closed(sessionId);
  }

  /** True when the session will be replayed on the next request; false: it is over. */
  async sessionLost(sessionId: string, binding: BackendBinding): Promise<boolean> {
    if (!this.sessions.resumes) {
      await this.sessions.closed(sessionId);
      return false;
    }
    await this.sessions.lost(sessionId, binding);
    return true;
  }

  sessionCallsAnswered(sessionId: string, calls: readonly ClientCall[]): Promise<void> {
    return this.sessions.callsAnswered(sessionId, calls);
  }

  /**
   * DELETE of a session: 'forward' when a backend holds it now (the gateway forwards the
   * DELETE), else it is simply forgotten — ending a session never wakes a server.
   */
  async endSession(sessionId: string): Promise<'forward' | 'ended'> {
    const record = await this.sessions.find(sessionId);
    if (!record) throw this.unknownSession();
    const replica = this.awake() ? this.replica : undefined;
    const backends = replica ? backendsOf(replica) : [];
    const live =
      record.backend !== undefined &&
      (backends.some((b) => b.id === record.backend!.replicaId) || this.boundElsewhere(record));
    if (live) return 'forward';
    await this.sessions.closed(sessionId);
    return 'ended';
  }

  /**
   * A lease on a backend of the running replica. A session goes to the backend it is bound
   * to; a session whose backend went away (sleep, crash, pod gone) is replayed on the least
   * loaded backend first — or, where the server does not resume sessions, ends with 404.
   * Undefined when the replica went away during the replay (its pod was already leaving):
   * the caller goes around again, to the next replica.
   */
  private async lease(
    options: AcquireOptions,
    record: SessionRecord | undefined,
    unreachable: { replays: number },
  ): Promise<Lease | undefined> {
    const replica = this.replica!;
    const abort = this.replicaAbort!;
    const backends = backendsOf(replica);
    const id = options.sessionId;
    if (id === undefined || record === undefined) {
      const backend = chooseBackend(backends, this.sessions.byBackend, undefined)!;
      return this.leaseOn(backend, replica, abort, options.kind);
    }
    const bound = record.backend && backends.find((b) => b.id === record.backend!.replicaId);
    if (bound) {
      this.sessions.adopt(id, bound.id);
      return this.leaseOn(bound, replica, abort, options.kind, {
        sessionId: record.backend!.sessionId,
        record,
      });
    }
    if (!this.sessions.resumes) {
      await this.sessions.closed(id);
      throw this.unknownSession();
    }
    const chosen = chooseBackend(backends, this.sessions.byBackend, undefined)!;
    // Counts as in flight while the replay runs, so the server does not sleep under it.
    const replaying = this.leaseOn(chosen, replica, abort, 'request');
    try {
      const binding = await this.sessions.rebind(
        id,
        record,
        { url: chosen.url, headers: replica.headers, replicaId: chosen.id },
        AbortSignal.any([abort.signal, AbortSignal.timeout(this.spec.health.startupTimeoutMs)]),
      );
      if (abort.signal.aborted) return undefined;
      const backend = backends.find((b) => b.id === binding.replicaId) ?? chosen;
      return this.leaseOn(backend, replica, abort, options.kind, {
        sessionId: binding.sessionId,
        record,
        resumed: true,
      });
    } catch (err) {
      if (abort.signal.aborted) return undefined;
      if (err instanceof FleetError) throw err;
      // Nothing answered at the backend: a pod on its way out that this controller's view
      // still lists (another controller replica slept the server a moment ago). Look again
      // shortly: its departure arrives, and the request wakes the server instead.
      if (isConnectionError(err) && unreachable.replays++ < UNREACHABLE_REPLAY_RETRIES) {
        await new Promise((resolve) => setTimeout(resolve, UNREACHABLE_REPLAY_PAUSE_MS));
        return undefined;
      }
      throw this.reject(
        new FleetError(
          502,
          'resume-failed',
          `could not resume the session on server ${this.slug}: ${(err as Error).message}`,
        ),
      );
    } finally {
      replaying.release();
    }
  }

  private leaseOn(
    backend: { id: string; url: string },
    replica: Replica,
    abort: AbortController,
    kind: AcquireOptions['kind'],
    inSession?: { sessionId: string; record: SessionRecord; resumed?: boolean },
  ): Lease {
    const counts = kind === 'request';
    const flight = this.flight;
    if (counts) {
      if (flight.count++ === 0) this.ctx.activity.busy(this.slug, true);
      this.clearIdleTimer();
    }
    let released = false;
    return {
      upstream: {
        url: backend.url,
        replicaId: backend.id,
        headers: replica.headers,
        ...(inSession ? sessionUpstream(inSession) : {}),
      },
      signal: abort.signal,
      release: () => {
        if (released) return;
        released = true;
        this.recordActivity();
        if (!counts) return;
        flight.count--;
        // Leases of a replica already taken away no longer matter.
        if (flight === this.flight && flight.count === 0) {
          this.ctx.activity.busy(this.slug, false);
          this.onAllReleased();
        }
      },
    };
  }

  private recordActivity(): void {
    const now = Date.now();
    this.lastActivityMs = now;
    this.ctx.activity.touch(this.slug, now);
  }

  private overloaded(): FleetError {
    const retryAfter = Math.max(1, Math.ceil((this.wakeDeadlineAt - Date.now()) / 1000));
    return this.reject(
      new FleetError(
        503,
        'overloaded',
        `server ${this.slug} is waking and ${this.hold.capacity} requests are already waiting`,
        retryAfter,
      ),
    );
  }

  private reject(error: FleetError): FleetError {
    this.ctx.metrics.rejectedRequests.inc({ server: this.slug, reason: error.code });
    return error;
  }

  // ---- activator: waking ----

  private ensureWake(): void {
    if (this.state === 'asleep') this.startWake('wake');
    // waking: joins it; unhealthy: the scheduled restart will release the held requests.
  }

  private startWake(kind: 'wake' | 'restart'): void {
    if (this.waking || this.stopped) return;
    const generation = ++this.generation;
    this.setState('waking', kind === 'restart' ? this.reason : null);
    const startedAt = performance.now();
    const startupMs = this.spec.health.startupTimeoutMs;
    this.wakeDeadlineAt = Date.now() + startupMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      const error = new WakeTimeoutError(
        `server ${this.slug} did not become ready within ${formatDuration(startupMs)}`,
      );
      deadline.abort(error);
      // Held requests get their 504 now, not whenever the cleanup finishes.
      this.hold.failAll(this.reject(new FleetError(504, 'wake-timeout', error.message)));
    }, startupMs);
    this.waking = bringUp({
      spec: this.spec,
      runtime: this.ctx.runtime,
      coord: this.ctx.coord,
      ownerId: this.ctx.ownerId,
      logger: this.log,
      signal: deadline.signal,
      deadlineAt: this.wakeDeadlineAt,
      hooks: (replicaId) => ({
        onChildCrash: (reason) => this.onChildCrash(replicaId(), reason),
        onChildCount: (count) => this.ctx.metrics.children.set({ server: this.slug }, count),
      }),
    })
      .then(
        ({ replica, probe }) => this.onWakeSucceeded(generation, kind, replica, probe, startedAt),
        (err: unknown) => this.onWakeFailed(generation, err as Error, startedAt),
      )
      .finally(() => {
        clearTimeout(timer);
        this.waking = undefined;
      });
  }

  private onWakeSucceeded(
    generation: number,
    kind: 'wake' | 'restart',
    replica: Replica,
    probe: McpProbe,
    startedAt: number,
  ): void {
    if (generation !== this.generation || this.stopped) {
      void replica.stop(this.stopped ? 'shutdown' : 'sleep');
      return;
    }
    const durationMs = Math.round(performance.now() - startedAt);
    this.replica = replica;
    this.replicaAbort = new AbortController();
    this.lastWakeDurationMs = durationMs;
    this.lastActivityMs ??= Date.now();
    this.setState('ready', null);
    this.ctx.metrics.wakes.inc({ server: this.slug, outcome: 'ok' });
    this.ctx.metrics.wakeDuration.observe({ server: this.slug }, durationMs / 1000);
    this.ctx.events.event({
      server: this.slug,
      type: 'wake',
      durationMs,
      message: `ready in ${formatDuration(durationMs)}`,
      data: { kind, replica: replica.id },
    });
    void replica.exited.then((exit) => {
      if (this.replica !== replica) return;
      if (exit.sleptElsewhere) void this.goAsleep('elsewhere');
      else if (!exit.expected) this.onCrash(`MCP server process ${exit.reason}`, 'crash');
    });
    this.startMonitor(probe);
    this.ctx.coord
      .publish('mcpfleet:ready', this.slug)
      .catch((err: unknown) => this.log.debug({ err }, 'could not publish readiness'));
    this.hold.releaseAll();
    this.scheduleIdle();
  }

  private onWakeFailed(generation: number, err: Error, startedAt: number): void {
    if (generation !== this.generation || this.stopped) return;
    const durationMs = Math.round(performance.now() - startedAt);
    const timedOut = err instanceof WakeTimeoutError;
    const reason = err.message;
    this.lastError = reason;
    this.ctx.metrics.wakes.inc({ server: this.slug, outcome: timedOut ? 'timeout' : 'error' });
    this.ctx.events.event({
      server: this.slug,
      type: timedOut ? 'wake-timeout' : 'wake-failed',
      durationMs,
      message: reason,
    });
    // A remote that does not answer is someone else's outage: keep trying (backing off),
    // never give up on it as on a process of ours that cannot start.
    if (this.crashLoop.record() && this.spec.kind !== 'remote') {
      this.enterFailed(`${this.crashLoop.recent()} failed starts in a row; last: ${reason}`);
      return;
    }
    const retryAfter = Math.max(1, Math.ceil(this.crashLoop.backoffMs() / 1000));
    this.hold.failAll(
      this.reject(
        new FleetError(503, 'failed', `server ${this.slug} could not start: ${reason}`, retryAfter),
      ),
    );
    this.setState(this.spec.kind === 'remote' ? 'unhealthy' : 'asleep', reason);
    if (this.alwaysOn) this.scheduleRestart();
  }

  // ---- health and crashes ----

  private startMonitor(probe: McpProbe): void {
    const reporter = new HealthReporter(this.slug, this.ctx.events, this.ctx.metrics);
    this.monitor = new HealthMonitor(probe, this.spec.health, {
      onResult: (result, failures) => reporter.report(result, failures),
      onUnhealthy: (reason) => this.onCrash(reason, 'unhealthy'),
    });
    this.monitor.start();
  }

  /** A process behind a live bridge died on its own (the bridge itself lives on). */
  private onChildCrash(replicaId: string, reason: string): void {
    // While waking, the failed wake is what counts; afterwards each crash counts.
    if (this.replica?.id !== replicaId || this.stopped) return;
    this.lastError = reason;
    this.ctx.events.event({
      server: this.slug,
      type: 'crash',
      message: `MCP server process ${reason}`,
    });
    if (this.crashLoop.record())
      this.enterFailed(
        `crash loop: ${this.crashLoop.recent()} crashes within a minute; last: MCP server process ${reason}`,
      );
  }

  /** The replica crashed or failed its health checks: restart it after a backoff. */
  private onCrash(reason: string, type: 'crash' | 'unhealthy'): void {
    if (this.stopped) return;
    this.lastError = reason;
    this.ctx.events.event({ server: this.slug, type, message: reason });
    if (this.crashLoop.record() && this.spec.kind !== 'remote') {
      this.enterFailed(
        `crash loop: ${this.crashLoop.recent()} crashes within a minute; last: ${reason}`,
      );
      return;
    }
    this.generation++;
    this.clearTimers();
    void this.teardownReplica('replace');
    this.setState('unhealthy', reason);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.restartTimer || this.stopped) return;
    const backoffMs = this.crashLoop.backoffMs();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state !== 'unhealthy' && this.state !== 'asleep') return;
      this.ctx.metrics.restarts.inc({ server: this.slug });
      this.ctx.events.event({
        server: this.slug,
        type: 'restart',
        message: `restarting after ${backoffMs} ms backoff`,
        data: { backoffMs },
      });
      this.startWake('restart');
    }, backoffMs);
    this.restartTimer.unref();
  }

  private enterFailed(reason: string): void {
    this.generation++;
    this.clearTimers();
    void this.teardownReplica('sleep');
    this.lastError = reason;
    this.setState('failed', reason);
    this.ctx.events.event({ server: this.slug, type: 'failed', message: reason });
    this.hold.failAll(
      this.reject(new FleetError(503, 'failed', `server ${this.slug} failed: ${reason}`)),
    );
  }

  // ---- scaler: draining and sleeping ----

  private onAllReleased(): void {
    if (this.state === 'draining' && this.drainMode === 'manual') {
      void this.goAsleep('manual');
      return;
    }
    this.scheduleIdle();
  }

  private scheduleIdle(): void {
    this.clearIdleTimer();
    if (this.state !== 'ready' || this.flight.count > 0) return;
    if (this.alwaysOn) return;
    const due = (this.lastActivityMs ?? Date.now()) + this.idleTimeoutMs - Date.now();
    this.idleTimer = setTimeout(() => void this.onIdle(), Math.max(0, due));
    this.idleTimer.unref();
  }

  private async onIdle(): Promise<void> {
    this.idleTimer = undefined;
    if (this.state !== 'ready' || this.flight.count > 0) return;
    if (Date.now() - (this.lastActivityMs ?? 0) < this.idleTimeoutMs) return this.scheduleIdle();
    // Another gateway replica may have seen traffic for this server.
    const shared = await this.ctx.activity.shared(this.slug);
    if (shared !== undefined && shared > (this.lastActivityMs ?? 0)) this.lastActivityMs = shared;
    if (this.state !== 'ready' || this.flight.count > 0) return;
    if (Date.now() - (this.lastActivityMs ?? 0) < this.idleTimeoutMs) return this.scheduleIdle();
    if (this.ctx.leadership && !this.ctx.leadership.isLeader()) {
      this.idleTimer = setTimeout(() => void this.onIdle(), FOLLOWER_IDLE_RECHECK_MS);
      this.idleTimer.unref();
      return;
    }
    this.startDrain('idle');
  }

  private startDrain(mode: 'idle' | 'manual'): void {
    this.drainMode = mode;
    this.setState(
      'draining',
      mode === 'idle' ? `idle for ${formatDuration(this.idleTimeoutMs)}` : 'sleep requested',
    );
    this.ctx.events.event({
      server: this.slug,
      type: 'drain',
      message: mode === 'idle' ? 'idle: draining before sleep' : 'sleep requested: draining',
    });
    if (mode === 'idle') {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = undefined;
        if (this.state === 'draining' && this.flight.count === 0) void this.goAsleep('idle');
      }, this.ctx.drainGraceMs ?? 500);
      this.drainTimer.unref();
    } else if (this.flight.count === 0) {
      void this.goAsleep('manual');
    }
  }

  private cancelDrain(): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    this.drainMode = undefined;
    this.setState('ready', null);
    this.ctx.events.event({
      server: this.slug,
      type: 'drain-cancelled',
      message: 'a request arrived while draining',
    });
  }

  private async goAsleep(reason: 'idle' | 'manual' | 'elsewhere'): Promise<void> {
    this.generation++;
    this.clearTimers();
    this.drainMode = undefined;
    this.setState('asleep', null);
    this.ctx.metrics.sleeps.inc({ server: this.slug, reason });
    this.ctx.events.event({
      server: this.slug,
      type: 'sleep',
      message:
        reason === 'idle'
          ? `idle for ${formatDuration(this.idleTimeoutMs)}`
          : reason === 'manual'
            ? 'sleep requested'
            : 'put to sleep by the leading controller replica',
      data: { reason },
    });
    const waiters = this.drainedWaiters;
    this.drainedWaiters = [];
    // Asleep elsewhere: the replica is already gone; do not scale anything ourselves.
    await this.teardownReplica(reason === 'elsewhere' ? 'shutdown' : 'sleep');
    for (const resolve of waiters) resolve();
    // Requests held meanwhile (a replica whose pods all went away holds them) asked for the
    // server: wake it for them rather than leave them waiting for someone else's request.
    if (this.hold.size > 0 && this.state === 'asleep' && !this.stopped) this.startWake('wake');
  }

  /** Takes the replica away (aborting its leases) and resolves once its processes are gone. */
  private async teardownReplica(intent: StopIntent): Promise<void> {
    const replica = this.replica;
    this.replica = undefined;
    this.replicaAbort?.abort(new Error(`server ${this.slug} is going away`));
    this.replicaAbort = undefined;
    this.monitor?.stop();
    this.monitor = undefined;
    this.flight = { count: 0 };
    this.ctx.activity.busy(this.slug, false);
    this.follower.reset();
    if (this.stopped) this.sessions.dropLive();
    else void this.sessions.replicaGone();
    if (replica)
      await replica
        .stop(intent)
        .catch((err: unknown) => this.log.error({ err }, 'could not stop replica'));
    this.ctx.metrics.children.set({ server: this.slug }, 0);
  }

  // ---- management ----

  async wake(): Promise<void> {
    if (this.state === 'unavailable')
      throw new FleetError(
        503,
        'unavailable',
        `server ${this.slug} is unavailable: ${this.reason}`,
      );
    if (this.state === 'failed') {
      this.crashLoop.reset();
      this.ctx.events.event({
        server: this.slug,
        type: 'reset',
        message: 'wake requested: failed state cleared',
      });
      this.setState('asleep', null);
    }
    if (this.state === 'draining') {
      if (this.drainMode === 'idle') this.cancelDrain();
      return;
    }
    if (this.state === 'ready') return;
    if (this.state === 'unhealthy' && this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      this.startWake('restart');
    }
    this.recordActivity();
    this.ensureWake();
    await this.waking;
    // The wake changed the state behind TypeScript's back.
    const state = this.state as ServerState;
    if (state !== 'ready' && state !== 'draining') {
      throw new FleetError(
        503,
        state === 'failed' ? 'failed' : 'unavailable',
        `server ${this.slug} did not wake: ${this.lastError ?? this.state}`,
      );
    }
  }

  async sleep(): Promise<void> {
    if (this.waking) await this.waking.catch(() => {});
    switch (this.state) {
      case 'ready':
      case 'draining': {
        const drained = new Promise<void>((resolve) => this.drainedWaiters.push(resolve));
        if (this.state === 'ready' || this.drainMode === 'idle') {
          if (this.drainTimer) clearTimeout(this.drainTimer);
          this.startDrain('manual');
        }
        const limit = this.ctx.manualDrainTimeoutMs ?? 30_000;
        const timer = setTimeout(() => {
          if (this.state === 'draining') void this.goAsleep('manual');
        }, limit);
        await drained;
        clearTimeout(timer);
        return;
      }
      case 'unhealthy':
        this.clearTimers();
        this.setState('asleep', null);
        return;
      default:
        return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    this.clearTimers();
    if (this.replica && this.spec.kind === 'workload')
      this.ctx.events.event({
        server: this.slug,
        type: 'shutdown',
        message: 'the controller stopped; its replica was released',
        data: { replica: this.replica.id },
      });
    this.hold.failAll(new FleetError(503, 'unavailable', 'the controller is shutting down', 1));
    await this.waking?.catch(() => {});
    await this.teardownReplica('shutdown');
  }

  status(): ServerStatus {
    return {
      slug: this.slug,
      name: this.spec.name,
      title: this.spec.title,
      kind: this.spec.kind,
      state: this.state,
      replicas: this.replica ? 1 : 0,
      sessions: this.sessions.size,
      inFlight: this.flight.count,
      lastActivity:
        this.lastActivityMs === undefined ? null : new Date(this.lastActivityMs).toISOString(),
      lastWakeDurationMs: this.lastWakeDurationMs,
      lastError: this.state === 'ready' ? this.lastError : (this.reason ?? this.lastError),
      idleTimeoutMs: this.idleTimeoutMs,
      minReplicas: this.spec.scaling.minReplicas,
      maxReplicas: this.spec.scaling.maxReplicas,
      endpoint: `/servers/${this.slug}/mcp`,
    };
  }

  /** Live child processes behind the current replica (tests, diagnostics). */
  children(): number {
    return this.replica?.children() ?? 0;
  }

  private setState(state: ServerState, reason: string | null): void {
    if (this.state === state && this.reason === reason) return;
    this.state = state;
    this.reason = reason;
    this.log.info({ state, reason }, `server ${state}`);
    this.ctx.events.status(this.slug, state, reason);
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private clearTimers(): void {
    this.clearIdleTimer();
    if (this.drainTimer) clearTimeout(this.drainTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.drainTimer = undefined;
    this.restartTimer = undefined;
  }
}

/** Where a replica takes requests: its pods (a cluster), else the replica itself. */
function backendsOf(replica: Replica): { id: string; url: string }[] {
  return replica.backends?.() ?? [{ id: replica.id, url: replica.url }];
}

/** The session half of an Upstream: the backend's id for it and what its client said. */
function sessionUpstream(inSession: {
  sessionId: string;
  record: SessionRecord;
  resumed?: boolean;
}): Pick<Upstream, 'sessionId' | 'resumed' | 'session'> {
  const { record } = inSession;
  return {
    sessionId: inSession.sessionId,
    ...(inSession.resumed ? { resumed: true } : {}),
    session: {
      initialize: record.initialize,
      ...(record.logLevel ? { logLevel: record.logLevel } : {}),
      ...(record.backendEra ? { backendEra: record.backendEra } : {}),
    },
  };
}
