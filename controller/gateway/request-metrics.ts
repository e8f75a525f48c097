// Per-server handles on the gateway's metrics, resolved once per server instead of hashing
// label sets on every request (prom-client's labels() child objects are stable).
import type { Metrics } from '../observability/metrics.ts';

interface ServerHandles {
  inFlight: { inc(): void; dec(): void };
  duration: { observe(seconds: number): void };
  /** `${method} ${status}` → counter child */
  counts: Map<string, { inc(): void }>;
}

export class RequestMetrics {
  readonly #metrics: Metrics;
  readonly #servers = new Map<string, ServerHandles>();

  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }

  #handles(server: string): ServerHandles {
    let handles = this.#servers.get(server);
    if (handles === undefined) {
      handles = {
        inFlight: this.#metrics.inFlight.labels({ server }),
        duration: this.#metrics.requestDuration.labels({ server }),
        counts: new Map(),
      };
      this.#servers.set(server, handles);
    }
    return handles;
  }

  started(server: string): void {
    this.#handles(server).inFlight.inc();
  }

  /** Time to the upstream's response headers. */
  answered(server: string, seconds: number): void {
    this.#handles(server).duration.observe(seconds);
  }

  finished(server: string, method: string, status: number): void {
    const handles = this.#handles(server);
    handles.inFlight.dec();
    const key = `${method} ${status}`;
    let count = handles.counts.get(key);
    if (count === undefined) {
      count = this.#metrics.requests.labels({ server, method, status: String(status) });
      handles.counts.set(key, count);
    }
    count.inc();
  }

  rejected(server: string, reason: string): void {
    this.#metrics.rejectedRequests.inc({ server, reason });
  }
}
