// What a health result leaves behind: every result in the health table, a failure counter, and
// an event only at the edges (the first failure of a run, the recovery), so a flapping server
// does not flood the event log.
import type { EventLog } from '../fleet/event-log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ProbeResult } from './mcp-probe.ts';

export class HealthReporter {
  private readonly server: string;
  private readonly events: EventLog;
  private readonly metrics: Metrics;
  private lastFailed = false;

  constructor(server: string, events: EventLog, metrics: Metrics) {
    this.server = server;
    this.events = events;
    this.metrics = metrics;
  }

  report(result: ProbeResult, failures: number): void {
    const server = this.server;
    this.events.health({
      server,
      ok: result.ok,
      latencyMs: Math.round(result.latencyMs),
      ...(result.error ? { error: result.error } : {}),
    });
    if (!result.ok) {
      this.metrics.healthFailures.inc({ server });
      if (failures === 1)
        this.events.event({
          server,
          type: 'health',
          message: `health check failed: ${result.error}`,
          data: { ok: false },
        });
    } else if (this.lastFailed) {
      this.events.event({
        server,
        type: 'health',
        message: 'health check recovered',
        data: { ok: true },
      });
    }
    this.lastFailed = !result.ok;
  }
}
