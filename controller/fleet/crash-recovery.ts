// What follows when one server's replica crashes, fails its health checks or fails to start:
// a restart after an exponential backoff or, after a crash loop (by default 3 within a minute),
// the `failed` state, which only a wake (or a spec change) clears. A remote that does not answer
// is someone else's outage: it is retried for as long as it takes, never failed.
import { WakeTimeoutError } from '../activator/wake-lock.ts';
import { CrashLoop } from '../health/crash-loop.ts';
import { HealthMonitor } from '../health/health-monitor.ts';
import { HealthReporter } from '../health/health-reporter.ts';
import type { McpProbe } from '../health/mcp-probe.ts';
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
    if (this.givesUp()) {
      this.enterFailed(`${this.crashLoop.recent()} failed starts in a row; last: ${reason}`);
      return;
    }
    const retryAfter = Math.max(1, Math.ceil(this.crashLoop.backoffMs() / 1000));
    this.options.failHeld(
      this.options.refusals.rejected(
        new FleetError(503, 'failed', `server ${slug} could not start: ${reason}`, retryAfter),
      ),
    );
    lifecycle.state.set(lifecycle.spec.kind === 'remote' ? 'unhealthy' : 'asleep', reason);
    if (lifecycle.alwaysOn) this.scheduleRestart();
  }

  /** A process behind a live bridge died on its own (the bridge itself lives on). */
  childCrashed(replicaId: string, reason: string): void {
    const { slug, ctx, lifecycle } = this.options;
    // While waking, the failed wake is what counts; afterwards each crash counts.
    if (this.options.replicaId() !== replicaId || lifecycle.state.stopped) return;
    lifecycle.state.lastError = reason;
    ctx.events.event({ server: slug, type: 'crash', message: `MCP server process ${reason}` });
    if (this.crashLoop.record())
      this.enterFailed(
        `crash loop: ${this.crashLoop.recent()} crashes within a minute; last: MCP server process ${reason}`,
      );
  }

  /** The replica crashed or failed its health checks: restart it after a backoff. */
  crashed(reason: string, type: 'crash' | 'unhealthy'): void {
    const { slug, ctx, lifecycle } = this.options;
    if (lifecycle.state.stopped) return;
    lifecycle.state.lastError = reason;
    ctx.events.event({ server: slug, type, message: reason });
    if (this.givesUp()) {
      this.enterFailed(
        `crash loop: ${this.crashLoop.recent()} crashes within a minute; last: ${reason}`,
      );
      return;
    }
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

  /** A wake asked for clears the failed state: crashes so far are forgotten. */
  reset(): void {
    this.crashLoop.reset();
    this.options.ctx.events.event({
      server: this.options.slug,
      type: 'reset',
      message: 'wake requested: failed state cleared',
    });
  }

  /** Counts a crash or failed start; true when it makes a crash loop of a server of ours. */
  private givesUp(): boolean {
    return this.crashLoop.record() && this.options.lifecycle.spec.kind !== 'remote';
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
