// The refusals one server answers requests with, worded once. `rejected` counts a refusal in
// mcpfleet_rejected_requests_total: those a request meets because of the server (unavailable,
// failed, overloaded, a wake past its deadline, a session that could not resume). An unknown
// session, a client gone or a controller shutting down are not the server's doing. A session
// limit is counted too: an operator sees which servers turn clients away.
import type { Metrics } from '../observability/metrics.ts';
import { FleetError } from './fleet.ts';

export class Refusals {
  private readonly slug: string;
  private readonly metrics: Metrics;

  constructor(slug: string, metrics: Metrics) {
    this.slug = slug;
    this.metrics = metrics;
  }

  /** Counts `error` as a rejected request and hands it back to throw. */
  rejected(error: FleetError): FleetError {
    this.metrics.rejectedRequests.inc({ server: this.slug, reason: error.code });
    return error;
  }

  unavailable(reason: string | null): FleetError {
    return new FleetError(503, 'unavailable', `server ${this.slug} is unavailable: ${reason}`);
  }

  failed(reason: string | null): FleetError {
    return new FleetError(503, 'failed', `server ${this.slug} failed: ${reason}`);
  }

  unknownSession(): FleetError {
    return new FleetError(404, 'unknown-session', `session not found on server ${this.slug}`);
  }

  /**
   * One client holds all the sessions it may (429: the server still serves others; this
   * client must end a session or wait until one idles out, which Retry-After says).
   */
  clientLimit(limit: number, retryAfterSeconds: number): FleetError {
    return this.rejected(
      new FleetError(
        429,
        'session-limit',
        `this client holds ${limit} session(s) of server ${this.slug}, its limit (sessions.maxPerClient): end one (DELETE) before opening another`,
        retryAfterSeconds,
        { limit, setting: 'sessions.maxPerClient' },
      ),
    );
  }

  /** The server holds every session it takes, from every client (503: full for everyone). */
  atCapacity(capacity: number, retryAfterSeconds: number): FleetError {
    return this.rejected(
      new FleetError(
        503,
        'at-capacity',
        `server ${this.slug} holds ${capacity} session(s), its capacity (maxReplicas × sessionsPerReplica)`,
        retryAfterSeconds,
        { limit: capacity, setting: 'scaling.maxReplicas × scaling.sessionsPerReplica' },
      ),
    );
  }

  shuttingDown(): FleetError {
    return new FleetError(503, 'unavailable', 'the controller is shutting down', 1);
  }
}
