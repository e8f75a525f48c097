// The Fleet: one ManagedServer per spec, sharing a runtime (local processes by default, or
// the Kubernetes runtime), the event log, the activity recorder and the coordination backend.
// The lifecycle is the same whatever the runtime; a cluster adds leadership (only the leader
// of several controller replicas puts servers to sleep).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerStatus } from '../api/types.ts';
import type { Coord } from '../coord/coord.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import type { EventQuery, FleetEvent, Store } from '../store/store.ts';
import type { CrashLoopOptions } from '../health/crash-loop.ts';
import { LocalRuntime, type LocalRuntimeOptions } from '../runtime/local.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { ActivityRecorder } from '../scaler/activity-recorder.ts';
import { SessionBook } from '../sessions/session-book.ts';
import type { BackendBinding, ClientCall } from '../sessions/session-record.ts';
import { EventLog } from './event-log.ts';
import { FleetError, type AcquireOptions, type Fleet, type Lease } from './fleet.ts';
import { ManagedServer } from './managed-server.ts';
import type { ServerContext } from './server-context.ts';

export interface LocalFleetOptions {
  specs: ServerSpec[];
  store: Store;
  coord: Coord;
  metrics: Metrics;
  logger: Logger;
  /** Overrides every server's idle timeout (--idle-timeout). */
  idleTimeoutOverrideMs?: number;
  /** Requests held per server while it wakes; default 10,000. */
  maxHeldPerServer?: number;
  /** This controller's identity (wake locks, session routes); default random. */
  replicaId?: string;
  /** How long an idle server drains before sleeping; default 500 ms. */
  drainGraceMs?: number;
  crashLoop?: CrashLoopOptions;
  /** Replaces the local runtime (the Kubernetes runtime, or tests). */
  runtime?: Runtime;
  /** Stabilization window before replicas follow sessions down (runtimes that scale). */
  scaleDownWindowMs?: number;
  /** Several controller replicas: who may put servers to sleep. Started and stopped with the fleet. */
  leadership?: { isLeader(): boolean; start?(): void; stop?(): Promise<void> };
  runtimeOptions?: Omit<LocalRuntimeOptions, 'logger'>;
}

/** How often a draining fleet looks whether its requests in flight have ended. */
const DRAIN_POLL_MS = 20;

export function createLocalFleet(options: LocalFleetOptions): Fleet {
  return new LocalFleet(options);
}

class LocalFleet implements Fleet {
  private readonly options: LocalFleetOptions;
  private readonly servers = new Map<string, ManagedServer>();
  private readonly eventLog: EventLog;
  private readonly activity: ActivityRecorder;
  private readonly sessionBook: SessionBook;
  private readonly logger: Logger;
  private readonly runtime: Runtime;
  private readonly context: ServerContext;
  private stopping: Promise<void> | undefined;

  constructor(options: LocalFleetOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'fleet' });
    this.eventLog = new EventLog(options.store, this.logger);
    this.activity = new ActivityRecorder(options.coord, this.logger);
    this.sessionBook = new SessionBook(options.coord, this.logger);
    const runtime = (this.runtime =
      options.runtime ??
      new LocalRuntime({
        logger: options.logger.child({ component: 'runtime' }),
        ...options.runtimeOptions,
      }));
    const ownerId = options.replicaId ?? `controller-${randomBytes(6).toString('hex')}`;
    this.context = {
      runtime,
      events: this.eventLog,
      metrics: options.metrics,
      logger: this.logger,
      coord: options.coord,
      activity: this.activity,
      sessions: this.sessionBook,
      ownerId,
      maxHeld: options.maxHeldPerServer ?? 10_000,
      ...(options.idleTimeoutOverrideMs !== undefined
        ? { idleTimeoutOverrideMs: options.idleTimeoutOverrideMs }
        : {}),
      ...(options.drainGraceMs !== undefined ? { drainGraceMs: options.drainGraceMs } : {}),
      ...(options.crashLoop ? { crashLoop: options.crashLoop } : {}),
      ...(options.leadership ? { leadership: options.leadership } : {}),
      ...(options.scaleDownWindowMs !== undefined
        ? { scaleDownWindowMs: options.scaleDownWindowMs }
        : {}),
    };
    for (const spec of options.specs) {
      if (this.servers.has(spec.slug)) throw new Error(`duplicate server slug "${spec.slug}"`);
      this.servers.set(spec.slug, new ManagedServer(spec, this.context));
    }
  }

  /**
   * A registry change while running: new servers start (asleep, or waking for minReplicas),
   * removed ones stop (their leases end; a cluster's Deployment is left to `pulumi up`), and a
   * changed spec applies in place — scaling and health at once, launch settings at the next wake.
   */
  async applyRegistry(specs: readonly ServerSpec[]): Promise<void> {
    const next = new Map(specs.map((spec) => [spec.slug, spec]));
    const removed = [...this.servers.entries()].filter(([slug]) => !next.has(slug));
    for (const [slug] of removed) this.servers.delete(slug);
    const added: ManagedServer[] = [];
    for (const spec of next.values()) {
      const server = this.servers.get(spec.slug);
      if (server) server.updateSpec(spec);
      else {
        const created = new ManagedServer(spec, this.context);
        this.servers.set(spec.slug, created);
        added.push(created);
      }
    }
    await Promise.all([
      ...removed.map(([, server]) => server.stop()),
      ...added.map((server) => server.init()),
    ]);
    this.logger.info(
      { added: added.map((s) => s.slug), removed: removed.map(([slug]) => slug) },
      'fleet follows the registry',
    );
  }

  slugs(): string[] {
    return [...this.servers.keys()];
  }

  has(slug: string): boolean {
    return this.servers.has(slug);
  }

  acquire(slug: string, options: AcquireOptions): Promise<Lease> {
    const server = this.servers.get(slug);
    if (!server) return Promise.reject(unknown(slug));
    return server.acquire(options);
  }

  sessionOpened(
    slug: string,
    backend: BackendBinding,
    initialize: Record<string, unknown>,
    backendEra?: 'modern',
    client?: string,
    principal?: string,
  ): Promise<string> {
    return this.require(slug).sessionOpened(backend, initialize, backendEra, client, principal);
  }

  async sessionClosed(slug: string, sessionId: string): Promise<void> {
    await this.servers.get(slug)?.sessionClosed(sessionId);
  }

  async sessionLost(slug: string, sessionId: string, binding: BackendBinding): Promise<boolean> {
    return (await this.servers.get(slug)?.sessionLost(sessionId, binding)) ?? false;
  }

  async sessionCallsAnswered(
    slug: string,
    sessionId: string,
    calls: readonly ClientCall[],
  ): Promise<void> {
    await this.servers.get(slug)?.sessionCallsAnswered(sessionId, calls);
  }

  endSession(slug: string, sessionId: string, principal?: string): Promise<'forward' | 'ended'> {
    return this.require(slug).endSession(sessionId, principal);
  }

  status(slug: string): ServerStatus | undefined {
    return this.servers.get(slug)?.status();
  }

  list(): ServerStatus[] {
    return [...this.servers.values()].map((server) => server.status());
  }

  async wake(slug: string): Promise<ServerStatus> {
    const server = this.require(slug);
    await server.wake();
    return server.status();
  }

  async sleep(slug: string): Promise<ServerStatus> {
    const server = this.require(slug);
    await server.sleep();
    return server.status();
  }

  runtimeReadiness(): { ok: boolean; error?: string } | undefined {
    return this.runtime.readiness?.();
  }

  events(query: EventQuery): Promise<FleetEvent[]> {
    return this.options.store.listEvents(query);
  }

  async start(): Promise<void> {
    await this.options.store.migrate();
    await this.runtime.open?.();
    await this.sessionBook.start();
    this.options.leadership?.start?.();
    await Promise.all([...this.servers.values()].map((server) => server.init()));
    this.logger.info({ servers: this.servers.size }, 'fleet started');
  }

  async drain(graceMs: number): Promise<{ unfinished: number }> {
    const servers = [...this.servers.values()];
    for (const server of servers) server.beginShutdown();
    const inFlight = (): number => servers.reduce((sum, server) => sum + server.inFlight, 0);
    const deadline = Date.now() + graceMs;
    if (inFlight() > 0)
      this.logger.info(
        { inFlight: inFlight(), graceMs },
        'shutting down: waiting for the requests in flight',
      );
    // Polled, not signalled: a lease may end on a replica that sleep or a crash already took
    // away, and this is one short loop once per shutdown.
    while (inFlight() > 0 && Date.now() < deadline) await sleep(DRAIN_POLL_MS);
    const unfinished = inFlight();
    if (unfinished > 0)
      this.logger.warn(
        { unfinished, graceMs },
        'shutdown grace is over: the requests still in flight end with an error',
      );
    return { unfinished };
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const stopping = Promise.all([...this.servers.values()].map((server) => server.stop()));
    // Parked streams wake up to find their server stopped, and end.
    await this.sessionBook.close();
    await stopping;
    await this.options.leadership?.stop?.();
    await this.runtime.close?.();
    await this.activity.stop();
    await this.eventLog.settle();
    await Promise.allSettled([this.options.store.close(), this.options.coord.close()]);
    this.logger.info('fleet stopped');
  }

  private require(slug: string): ManagedServer {
    const server = this.servers.get(slug);
    if (!server) throw unknown(slug);
    return server;
  }
}

function unknown(slug: string): FleetError {
  return new FleetError(404, 'unknown-server', `no server "${slug}" is registered`);
}
