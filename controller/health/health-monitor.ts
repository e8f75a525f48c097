// Periodic MCP ping while a server is awake. Counts consecutive failures and calls
// `onUnhealthy` once the spec's threshold is reached (then stops: the owner restarts the
// replica and starts a new monitor). Every result goes to `onResult` for the store.
import type { Health } from '../../registry/catalog/spec.ts';
import type { McpProbe, ProbeResult } from './mcp-probe.ts';

export interface HealthMonitorHooks {
  onResult(result: ProbeResult, consecutiveFailures: number): void;
  onUnhealthy(reason: string): void;
}

export class HealthMonitor {
  private readonly probe: McpProbe;
  private readonly health: Health;
  private readonly hooks: HealthMonitorHooks;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private failures = 0;
  private running = false;

  constructor(probe: McpProbe, health: Health, hooks: HealthMonitorHooks) {
    this.probe = probe;
    this.health = health;
    this.hooks = hooks;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => void this.tick(), this.health.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const result = await this.probe.check(this.health.timeoutMs, this.abort.signal);
    if (!this.running) return;
    this.failures = result.ok ? 0 : this.failures + 1;
    this.hooks.onResult(result, this.failures);
    if (this.failures >= this.health.failureThreshold) {
      this.running = false;
      this.hooks.onUnhealthy(
        `${this.failures} consecutive health checks failed; last: ${result.error ?? 'unknown error'}`,
      );
      return;
    }
    this.schedule();
  }
}
