// One server as the Fleet sees it: the face its calls go through, and the place its pieces are
// put together. The lifecycle (server-lifecycle.ts and its pieces) wakes, restarts and sleeps
// it; requests are admitted by request-admission.ts and routed by request-routing.ts onto the
// awake replica (awake-replica.ts); its client sessions are sessions/server-sessions.ts, which
// replicas follow where the runtime scales (scaler/session-follower.ts).
import type { ServerStatus } from '../api/types.ts';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import { SessionFollower } from '../scaler/session-follower.ts';
import { ServerSessions } from '../sessions/server-sessions.ts';
import { sessionLimitsOf } from '../sessions/session-limits.ts';
import { deleteSession } from '../mcp-client/post-message.ts';
import type { BackendBinding, ClientCall } from '../sessions/session-record.ts';
import type { AcquireOptions, Lease } from './fleet.ts';
import { Refusals } from './refusals.ts';
import { RequestAdmission } from './request-admission.ts';
import { leads, type ServerContext } from './server-context.ts';
import { ServerLifecycle } from './server-lifecycle.ts';

export class ManagedServer {
  private readonly lifecycle: ServerLifecycle;
  private readonly sessions: ServerSessions;
  private readonly follower: SessionFollower;
  private readonly admission: RequestAdmission;

  constructor(spec: ServerSpec, ctx: ServerContext) {
    const logger = ctx.logger.child({ server: spec.slug });
    const refusals = new Refusals(spec.slug, ctx.metrics);
    const lifecycle = (this.lifecycle = new ServerLifecycle({
      spec,
      ctx,
      logger,
      refusals,
      onReplicaGone: (stopping) => {
        this.follower.reset();
        if (stopping) this.sessions.dropLive();
        else void this.sessions.replicaGone();
      },
    }));
    this.sessions = new ServerSessions({
      slug: spec.slug,
      book: ctx.sessions,
      events: ctx.events,
      logger,
      resumes: () => lifecycle.spec.sessions.resume,
      onChange: () => this.follower.update(),
      limits: () => sessionLimitsOf(lifecycle.spec),
      onIdle: (binding) => this.endBackendSession(binding),
    });
    // Replicas follow sessions where the runtime can scale, while awake, decided by the leader.
    this.follower = new SessionFollower({
      server: spec.slug,
      scaling: spec.scaling,
      ...(ctx.scaleDownWindowMs !== undefined ? { windowMs: ctx.scaleDownWindowMs } : {}),
      events: ctx.events,
      logger,
      sessions: () => this.sessions.globalCount(),
      target: () => {
        const replica = lifecycle.awake?.replica;
        if (!replica?.scale || !lifecycle.state.awake) return;
        if (!leads(ctx)) return;
        return { scale: (count: number) => replica.scale!(count) };
      },
    });
    this.admission = new RequestAdmission({
      lifecycle,
      sessions: this.sessions,
      refusals,
      runtime: ctx.runtime,
    });
  }

  get spec(): ServerSpec {
    return this.lifecycle.spec;
  }

  get slug(): string {
    return this.lifecycle.slug;
  }

  get idleTimeoutMs(): number {
    return this.lifecycle.idleTimeoutMs;
  }

  /**
   * The registry changed this server's spec: scaling and health apply now (the idle timer is
   * re-armed with the new timeout), launch settings with the next replica (next wake).
   */
  updateSpec(spec: ServerSpec): void {
    this.follower.setScaling(spec.scaling);
    this.lifecycle.specChanged(spec);
  }

  /** Decides the initial state (a server that never sleeps, or already runs, wakes now). */
  async init(): Promise<void> {
    this.lifecycle.init();
  }

  acquire(options: AcquireOptions): Promise<Lease> {
    return this.admission.acquire(options);
  }

  /** An initialize through `backend` minted a backend session: returns the client's id. */
  sessionOpened(
    backend: BackendBinding,
    initialize: Record<string, unknown>,
    backendEra?: 'modern',
    client?: string,
    principal?: string,
  ): Promise<string> {
    return this.sessions.opened(backend, initialize, backendEra, client, principal);
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

  endSession(sessionId: string, principal?: string): Promise<'forward' | 'ended'> {
    return this.admission.endSession(sessionId, principal);
  }

  /** Management API: wakes the server (a failed one too); resolves once it is ready. */
  wake(): Promise<void> {
    return this.lifecycle.wake();
  }

  /** Management API: drains the server, then sleeps it; resolves once it is asleep. */
  sleep(): Promise<void> {
    return this.lifecycle.sleep();
  }

  /** The controller shuts down: new requests are refused, those in flight go on. */
  beginShutdown(): void {
    this.lifecycle.beginShutdown();
  }

  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  /** Request leases out on its replica. */
  get inFlight(): number {
    return this.lifecycle.inFlight;
  }

  status(): ServerStatus {
    const { lifecycle } = this;
    const { spec, state } = lifecycle;
    const lastActivityMs = lifecycle.idle.lastActivityMs;
    const exposure = lifecycle.awake?.replica.exposure?.();
    return {
      slug: this.slug,
      name: spec.name,
      title: spec.title,
      kind: spec.kind,
      state: state.current,
      replicas: lifecycle.awake ? 1 : 0,
      sessions: this.sessions.size,
      inFlight: lifecycle.inFlight,
      lastActivity: lastActivityMs === undefined ? null : new Date(lastActivityMs).toISOString(),
      lastWakeDurationMs: lifecycle.lastWakeDurationMs,
      lastError: state.current === 'ready' ? state.lastError : (state.reason ?? state.lastError),
      healthMark: lifecycle.healthMarks.reason,
      idleTimeoutMs: this.idleTimeoutMs,
      minReplicas: spec.scaling.minReplicas,
      maxReplicas: spec.scaling.maxReplicas,
      endpoint: `/servers/${this.slug}/mcp`,
      ...(exposure ? { exposure } : {}),
    };
  }

  /** A session idled out: its backend ends it too, which frees its process (best effort). */
  private endBackendSession(binding: BackendBinding): void {
    const awake = this.lifecycle.state.awake ? this.lifecycle.awake : undefined;
    const backend = awake?.backends().find((b) => b.id === binding.replicaId);
    if (!awake || !backend || binding.sessionId === '') return;
    void deleteSession(backend.url, awake.replica.headers, binding.sessionId);
  }

  /** Live child processes behind the current replica (tests, diagnostics). */
  children(): number {
    return this.lifecycle.awake?.replica.children() ?? 0;
  }
}
