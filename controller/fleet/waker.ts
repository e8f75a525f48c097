// The activator of one server: one wake at a time however many requests want it, the requests
// held meanwhile (a bounded queue: past it, 503 with Retry-After), the startup deadline (held
// requests get their 504 the moment it passes, not whenever the cleanup finishes), and whether
// a wake still counts when it ends: a sleep, crash or stop meanwhile makes it stale, and the
// replica it brought up is let go.
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import { formatDuration } from '../../registry/catalog/duration.ts';
import { bringUp } from '../activator/bring-up.ts';
import { HoldQueue } from '../activator/hold-queue.ts';
import { WakeTimeoutError } from '../activator/wake-lock.ts';
import type { McpProbe } from '../health/mcp-probe.ts';
import type { Logger } from '../observability/log.ts';
import type { ChildStart, Replica } from '../runtime/runtime.ts';
import { FleetError } from './fleet.ts';
import type { HealthMarks } from './health-marks.ts';
import type { Refusals } from './refusals.ts';
import type { ServerContext } from './server-context.ts';

export interface WakerOptions {
  slug: string;
  ctx: ServerContext;
  logger: Logger;
  refusals: Refusals;
  /** The controller is stopping the server. */
  stopped: () => boolean;
  /** A process of one session behind a live bridge of `replicaId` died on its own. */
  onChildCrash(replicaId: string, reason: string): void;
  /** A process behind a live bridge of `replicaId` started, or failed to. */
  onChildStart(replicaId: string, outcome: ChildStart): void;
  /** Marks each replica's output flood on the server while it lasts. */
  healthMarks: HealthMarks;
}

/** How a wake that still counts ended. */
export interface WakeOutcome {
  woke(replica: Replica, probe: McpProbe, durationMs: number): void;
  failed(err: Error, durationMs: number): void;
}

export class Waker {
  private readonly options: WakerOptions;
  private readonly queue: HoldQueue;
  private inProgress: Promise<void> | undefined;
  private deadlineAt = 0;
  /** Bumped whenever an in-progress wake must not take effect any more. */
  private generation = 0;

  constructor(options: WakerOptions) {
    this.options = options;
    const { ctx, slug } = options;
    this.queue = new HoldQueue(ctx.maxHeld);
    this.queue.onSizeChange = (size) => ctx.metrics.heldRequests.set({ server: slug }, size);
  }

  /** The wake in progress: settles once its outcome took effect. */
  get waking(): Promise<void> | undefined {
    return this.inProgress;
  }

  /** Requests held now. */
  get held(): number {
    return this.queue.size;
  }

  /** Holds a request until the wake ends; 503 overloaded when the queue is full. */
  hold(signal?: AbortSignal): Promise<void> {
    if (this.queue.size >= this.queue.capacity) throw this.overloaded();
    return this.queue.hold(signal);
  }

  releaseHeld(): void {
    this.queue.releaseAll();
  }

  failHeld(error: Error): void {
    this.queue.failAll(error);
  }

  /** A wake in progress must not take effect any more. */
  invalidate(): void {
    this.generation++;
  }

  /** Brings a replica of `spec` up, unless a wake is already in progress. */
  start(spec: ServerSpec, outcome: WakeOutcome): void {
    if (this.inProgress) return;
    const { ctx, slug, logger, stopped } = this.options;
    const generation = ++this.generation;
    const startedAt = performance.now();
    const startupMs = spec.health.startupTimeoutMs;
    this.deadlineAt = Date.now() + startupMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      const error = new WakeTimeoutError(
        `server ${slug} did not become ready within ${formatDuration(startupMs)}`,
      );
      deadline.abort(error);
      this.queue.failAll(
        this.options.refusals.rejected(new FleetError(504, 'wake-timeout', error.message)),
      );
    }, startupMs).unref(); // a stopped controller must not wait for it to exit
    const stale = () => generation !== this.generation || stopped();
    const tookMs = () => Math.round(performance.now() - startedAt);
    this.inProgress = bringUp({
      spec,
      runtime: ctx.runtime,
      coord: ctx.coord,
      ownerId: ctx.ownerId,
      logger,
      signal: deadline.signal,
      deadlineAt: this.deadlineAt,
      hooks: (replicaId) => {
        const replicaMark = {};
        return {
          onChildCrash: (reason) => this.options.onChildCrash(replicaId(), reason),
          onChildStart: (outcome) => this.options.onChildStart(replicaId(), outcome),
          onChildCount: (count) => ctx.metrics.children.set({ server: slug }, count),
          onOutputDropped: (stream, count) =>
            ctx.metrics.outputDropped.inc({ server: slug, stream }, count),
          onOutputFlood: (reason) => this.options.healthMarks.set(replicaMark, reason),
        };
      },
    })
      .then(
        ({ replica, probe }) => {
          if (stale()) void replica.stop(stopped() ? 'shutdown' : 'sleep');
          else outcome.woke(replica, probe, tookMs());
        },
        (err: unknown) => {
          if (!stale()) outcome.failed(err as Error, tookMs());
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.inProgress = undefined;
      });
  }

  private overloaded(): FleetError {
    const retryAfter = Math.max(1, Math.ceil((this.deadlineAt - Date.now()) / 1000));
    return this.options.refusals.rejected(
      new FleetError(
        503,
        'overloaded',
        `server ${this.options.slug} is waking and ${this.queue.capacity} requests are already waiting`,
        retryAfter,
      ),
    );
  }
}
