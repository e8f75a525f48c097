// Prometheus metrics for the controller. One registry per controller instance (not the
// prom-client global) so tests can run several controllers in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const WAKE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60];

export class Metrics {
  readonly registry = new Registry();

  /** Gateway requests by server, HTTP method and status code. */
  readonly requests = new Counter({
    name: 'mcpfleet_requests_total',
    help: 'MCP requests handled by the gateway',
    labelNames: ['server', 'method', 'status'] as const,
    registers: [this.registry],
  });
  /** Time to response headers (streams keep going after), by server. */
  readonly requestDuration = new Histogram({
    name: 'mcpfleet_request_duration_seconds',
    help: 'Gateway time from request to upstream response headers',
    labelNames: ['server'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly wakes = new Counter({
    name: 'mcpfleet_wakes_total',
    help: 'Server wakes (scale from zero), by outcome',
    labelNames: ['server', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly wakeDuration = new Histogram({
    name: 'mcpfleet_wake_duration_seconds',
    help: 'Time from wake start to ready (a real MCP round trip)',
    labelNames: ['server'] as const,
    buckets: WAKE_BUCKETS,
    registers: [this.registry],
  });
  readonly sleeps = new Counter({
    name: 'mcpfleet_sleeps_total',
    help: 'Servers put to sleep (idle or by request)',
    labelNames: ['server', 'reason'] as const,
    registers: [this.registry],
  });
  readonly dependencyUp = new Gauge({
    name: 'mcpfleet_dependency_up',
    help: '1 when a dependency of /readyz answered at its last check (store, coord, registry...)',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });
  readonly scalePatches = new Counter({
    name: 'mcpfleet_scale_patches_total',
    help: 'Deployment scale subresource patches sent (Kubernetes runtime)',
    labelNames: ['server', 'direction'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'mcpfleet_leader',
    help: '1 while this controller replica holds the leader lease (Kubernetes runtime)',
    registers: [this.registry],
  });
  readonly heldRequests = new Gauge({
    name: 'mcpfleet_held_requests',
    help: 'Requests held while their server wakes',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly rejectedRequests = new Counter({
    name: 'mcpfleet_rejected_requests_total',
    help: 'Requests refused before reaching a server (overloaded, wake timeout, failed, ...)',
    labelNames: ['server', 'reason'] as const,
    registers: [this.registry],
  });
  readonly healthFailures = new Counter({
    name: 'mcpfleet_health_failures_total',
    help: 'Failed MCP health pings',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly restarts = new Counter({
    name: 'mcpfleet_restarts_total',
    help: 'Server restarts after health failures or crashes',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly children = new Gauge({
    name: 'mcpfleet_children',
    help: 'Live child processes (stdio sessions and HTTP servers) on the local runtime',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly outputDropped = new Counter({
    name: 'mcpfleet_server_output_dropped_total',
    help: "Lines of a server's process output not logged: over the output rate limit (a flood)",
    labelNames: ['server', 'stream'] as const,
    registers: [this.registry],
  });
  /** Read from the log destination at each scrape (see countLogDrops). */
  readonly logLinesDropped = new Counter({
    name: 'mcpfleet_log_lines_dropped_total',
    help: 'Controller log lines dropped because the log destination did not keep up',
    registers: [this.registry],
    collect: () => {
      if (!this.logDrops) return;
      this.logLinesDropped.reset();
      this.logLinesDropped.inc(this.logDrops());
    },
  });
  private logDrops: (() => number) | undefined;
  readonly inFlight = new Gauge({
    name: 'mcpfleet_in_flight_requests',
    help: 'Requests currently being proxied',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly openConnections = new Gauge({
    name: 'mcpfleet_http_connections',
    help: 'Open client connections to the controller port',
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'mcpfleet_rate_limited_total',
    help: 'Requests answered 429 by a rate limit, by budget (principal | server), surface (mcp | api) and server',
    labelNames: ['scope', 'surface', 'server'] as const,
    registers: [this.registry],
  });
  readonly rateLimitFallbacks = new Counter({
    name: 'mcpfleet_rate_limit_fallbacks_total',
    help: 'Rate limit checks decided in-process because Redis did not answer (each replica then limits alone)',
    registers: [this.registry],
  });
  readonly connectionLimitEvents = new Counter({
    name: 'mcpfleet_connection_limit_events_total',
    help: 'Connections closed by the connection cap or probe reserve, and requests answered 400/408/431 before routing (connections/limit-report.ts)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Where mcpfleet_log_lines_dropped_total is read: the log destination's count. */
  countLogDrops(dropped: () => number): void {
    this.logDrops = dropped;
  }

  /** Prometheus text exposition for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
