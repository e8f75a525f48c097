// The refusals one server answers requests with, worded once. `rejected` counts a refusal in
// mcpfleet_rejected_requests_total: those a request meets because of the server (unavailable,
// failed, overloaded, a wake past its deadline, a session that could not resume). An unknown
// session, a client gone or a controller shutting down are not the server's doing.
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

  shuttingDown(): FleetError {
    return new FleetError(503, 'unavailable', 'the controller is shutting down', 1);
  }
}
