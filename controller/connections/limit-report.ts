// What the connection limits did, told without amplifying a flood: every event is counted in
// metrics at once, and the log gets one line per interval with the counts of that interval
// (never a line per connection: 20,000 refused sockets are one warning, not 20,000).
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';

export type LimitEvent =
  /** At the cap with no idle connection to close: the new one was closed at once. */
  | 'refused'
  /** At the cap: the connection idle the longest was closed to admit a new one. */
  | 'evicted'
  /** A connection in the probe reserve asked for something else: 503. */
  | 'reserve-refused'
  /** A connection in the probe reserve sent no request in time. */
  | 'reserve-expired'
  /** Headers (or the first byte) did not arrive in time: 408. */
  | 'headers-timeout'
  /** The body did not arrive in time: 408. */
  | 'body-timeout'
  /** Request headers over node:http's maxHeaderSize: 431. */
  | 'headers-too-large'
  /** Not HTTP, or malformed: 400. */
  | 'bad-request';

export interface LimitReportOptions {
  logger: Logger;
  metrics: Metrics;
  intervalMs: number;
  /** The connection figures to log with the counts. */
  snapshot(): { open: number; maxConnections: number };
}

export class LimitReport {
  readonly #options: LimitReportOptions;
  #counts = new Map<LimitEvent, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LimitReportOptions) {
    this.#options = options;
  }

  note(event: LimitEvent): void {
    this.#options.metrics.connectionLimitEvents.inc({ event });
    this.#counts.set(event, (this.#counts.get(event) ?? 0) + 1);
    // The first event of a quiet spell opens an interval; its end writes the line.
    this.#timer ??= setTimeout(() => this.flush(), this.#options.intervalMs).unref();
  }

  /** Writes the counts gathered so far (if any) and starts a new interval. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#counts.size === 0) return;
    const counts = Object.fromEntries(this.#counts);
    this.#counts = new Map();
    this.#options.logger.warn(
      { ...counts, ...this.#options.snapshot(), intervalMs: this.#options.intervalMs },
      'connection limits enforced',
    );
  }

  close(): void {
    this.flush();
  }
}
