// What follows when one server's replica crashes, fails its health checks or fails to start:
// a restart after an exponential backoff, for as long as it takes, while the server does
// start. Only failed starts make it `failed` (by default 3 in a row: a wake that did not come
// up, or a process behind a live bridge that died before it answered initialize), which only
// a wake (or a spec change) clears. A process of one session that crashes after it started
// ends that session and nothing else: other sessions and the server serve on. After a failed
// start, a wake waits out the backoff (503 + Retry-After meanwhile). A remote that does not
// answer is someone else's outage: it is retried for as long as it takes, never failed.
import { WakeTimeoutError } from '../activator/wake-lock.ts';
import { CrashLoop } from '../health/crash-loop.ts';
import { HealthMonitor } from '../health/health-monitor.ts';
import { HealthReporter } from '../health/health-reporter.ts';
import type { McpProbe } from '../health/mcp-probe.ts';
import type { ChildStart } from '../runtime/runtime.ts';
import { FleetError } from './fleet.ts';
import type { LifecycleMoves } from './lifecycle-core.ts';
import type { Refusals } from './refusals.ts';
import type { ServerContext } from './server-context.ts';

export interface CrashRecoveryOptions {
  slug: string;
  ctx: ServerContext;
  refusals: Refusals;
  lifecycle: LifecycleMoves;
  /** The id of the replica running now, if one is. */
  replicaId: () => string | undefined;
  /** Fails the requests held for a wake. */
  failHeld(error: FleetError): void;
}

export class CrashRecovery {
  private readonly options: CrashRecoveryOptions;
  private readonly crashLoop: CrashLoop;
  private restartTimer: NodeJS.Timeout | undefined;
  /** When the next start may be tried after a failed one (epoch ms); 0: now. */
  private nextStartAt = 0;

  constructor(options: CrashRecoveryOptions) {
    this.options = options;
    this.crashLoop = new CrashLoop(options.ctx.crashLoop);
  }

  /** Probes a replica while it runs: failing the spec's threshold counts as a crash. */
  healthMonitor(probe: McpProbe): HealthMonitor {
    const { slug, ctx, lifecycle } = this.options;
    const reporter = new HealthReporter(slug, ctx.events, ctx.metrics);
    return new HealthMonitor(probe, lifecycle.spec.health, {
      onResult: (result, failures) => reporter.report(result, failures),
      onUnhealthy: (reason) => this.crashed(reason, 'unhealthy'),
    });
  }

  /** A wake failed (or missed its deadline): counts like a crash. */
  wakeFailed(err: Error, durationMs: number): void {
    const { slug, ctx, lifecycle } = this.options;
    const timedOut = err instanceof WakeTimeoutError;
    const reason = err.message;
    lifecycle.state.lastError = reason;
    ctx.metrics.wakes.inc({ server: slug, outcome: timedOut ? 'timeout' : 'error' });
    ctx.events.event({
      server: slug,
      type: timedOut ? 'wake-timeout' : 'wake-failed',
      durationMs,
      message: reason,
    });
    if (this.startFailed()) {
      this.enterFailed(
        `${this.crashLoop.failedStartsInARow()} failed starts in a row; last: ${reason}`,
      );
      return;
    }
    this.options.failHeld(this.couldNotStart(reason, this.crashLoop.backoffMs()));
    lifecycle.state.set(lifecycle.spec.kind === 'remote' ? 'unhealthy' : 'asleep', reason);
    if (lifecycle.alwaysOn) this.scheduleRestart();
  }

  /** The server came up: a run of failed starts is over. */
  started(): void {
    this.crashLoop.started();
    this.nextStartAt = 0;
  }

  /**
   * A process of one session behind a live bridge died on its own after it started: that
   * session ended (its client gets an error, then 404); the server and other sessions serve on.
   */
  childCrashed(replicaId: string, reason: string): void {
    const { slug, ctx, lifecycle } = this.options;
    if (this.options.replicaId() !== replicaId || lifecycle.state.stopped) return;
    lifecycle.state.lastError = `a session's MCP server process ${reason}`;
    ctx.events.event({
      server: slug,
      type: 'crash',
      message: `a session's MCP server process ${reason}; that session ended, the server serves on`,
      data: { scope: 'session' },
    });
  }

  /** A process behind a live bridge started (answered initialize), or died before it did. */
  childStart(replicaId: string, outcome: ChildStart): void {
    const { slug, ctx, lifecycle } = this.options;
    // While waking, the wake's own outcome is what counts.
    if (this.options.replicaId() !== replicaId || lifecycle.state.stopped) return;
    if (outcome.ok) return this.started();
    const reason = `an MCP server process did not start: it ${outcome.reason}`;
    lifecycle.state.lastError = reason;
    ctx.events.event({ server: slug, type: 'crash', message: reason, data: { scope: 'start' } });
    if (this.startFailed())
      this.enterFailed(
        `${this.crashLoop.failedStartsInARow()} failed starts in a row; last: ${reason}`,
      );
  }

  /** The replica crashed or failed its health checks: restart it after a backoff. */
  crashed(reason: string, type: 'crash' | 'unhealthy'): void {
    const { slug, ctx, lifecycle } = this.options;
    if (lifecycle.state.stopped) return;
    lifecycle.state.lastError = reason;
    ctx.events.event({ server: slug, type, message: reason });
    // It had started: restarting is worth trying again (with backoff); only failed starts fail it.
    this.crashLoop.record();
    lifecycle.cancelPending();
    void lifecycle.teardownReplica('replace');
    lifecycle.state.set('unhealthy', reason);
    this.scheduleRestart();
  }

  /** A wake asked for: an unhealthy server waiting out its backoff restarts now. */
  restartNow(): void {
    if (!this.restartTimer) return;
    this.cancelRestart();
    this.options.lifecycle.startWake('restart');
  }

  cancelRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  /** Milliseconds a wake still waits after a failed start; 0: it may start now. */
  startBackoffMs(): number {
    return Math.max(0, this.nextStartAt - Date.now());
  }

  /** The refusal of a request while the server waits out the backoff of a failed start. */
  backingOff(): FleetError {
    const { lifecycle } = this.options;
    return this.couldNotStart(
      lifecycle.state.lastError ?? 'it failed to start',
      this.startBackoffMs(),
    );
  }

  /** A wake asked for clears the failed state: crashes so far are forgotten. */
  reset(): void {
    this.crashLoop.reset();
    this.nextStartAt = 0;
    this.options.ctx.events.event({
      server: this.options.slug,
      type: 'reset',
      message: 'wake requested: failed state cleared',
    });
  }

  /** Counts a failed start; true when it makes the run that fails a server of ours. */
  private startFailed(): boolean {
    const givesUp = this.crashLoop.startFailed() && this.options.lifecycle.spec.kind !== 'remote';
    this.nextStartAt = Date.now() + this.crashLoop.backoffMs();
    return givesUp;
  }

  private couldNotStart(reason: string, retryInMs: number): FleetError {
    const { slug, refusals } = this.options;
    const retryAfter = Math.max(1, Math.ceil(retryInMs / 1000));
    return refusals.rejected(
      new FleetError(503, 'failed', `server ${slug} could not start: ${reason}`, retryAfter),
    );
  }

  private scheduleRestart(): void {
    const { slug, ctx, lifecycle } = this.options;
    if (this.restartTimer || lifecycle.state.stopped) return;
    const backoffMs = this.crashLoop.backoffMs();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      const state = lifecycle.state.current;
      if (state !== 'unhealthy' && state !== 'asleep') return;
      ctx.metrics.restarts.inc({ server: slug });
      ctx.events.event({
        server: slug,
        type: 'restart',
        message: `restarting after ${backoffMs} ms backoff`,
        data: { backoffMs },
      });
      lifecycle.startWake('restart');
    }, backoffMs);
    this.restartTimer.unref();
  }

  private enterFailed(reason: string): void {
    const { slug, ctx, lifecycle, refusals } = this.options;
    lifecycle.cancelPending();
    void lifecycle.teardownReplica('sleep');
    lifecycle.state.lastError = reason;
    lifecycle.state.set('failed', reason);
    ctx.events.event({ server: slug, type: 'failed', message: reason });
    this.options.failHeld(refusals.rejected(refusals.failed(reason)));
  }
}
