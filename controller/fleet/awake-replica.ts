// The replica a server runs now, and what lives and dies with it: the abort signal every lease
// on it carries (the gateway ends its responses when the replica is taken away), its health
// monitor, and the requests in flight on it, which keep the server awake. Each wake makes a
// new AwakeReplica, so a lease released after its replica went away changes nothing for the
// next one. Where a replica has several backends (the pods of a Deployment), a lease is on one.
import type { HealthMonitor } from '../health/health-monitor.ts';
import type { Backend, Replica } from '../runtime/runtime.ts';
import type { AcquireOptions, Lease, Upstream } from './fleet.ts';

/** What the server does as requests come and go on its replica. */
export interface InFlightHooks {
  /** A request lease was taken; `first` when no other was out. */
  requestStarted(first: boolean): void;
  /** A lease ended, a request's or a stream's. */
  leaseEnded(): void;
  /** The last request lease out on the replica ended, while it is still the server's. */
  requestsDone(): void;
}

/** The session half of an Upstream: the backend's id for it and what its client said. */
export type SessionUpstream = Pick<Upstream, 'sessionId' | 'resumed' | 'session'>;

export class AwakeReplica {
  readonly replica: Replica;
  private readonly hooks: InFlightHooks;
  private readonly abort = new AbortController();
  private monitor: HealthMonitor | undefined;
  private requests = 0;
  private current = true;

  constructor(replica: Replica, hooks: InFlightHooks) {
    this.replica = replica;
    this.hooks = hooks;
  }

  /** Aborts when the replica is taken away (sleep, crash, shutdown). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Request leases out on it. */
  get inFlight(): number {
    return this.requests;
  }

  /** Where it takes requests: its pods (a cluster), else the replica itself. */
  backends(): Backend[] {
    return this.replica.backends?.() ?? [{ id: this.replica.id, url: this.replica.url }];
  }

  /** Every pod just went away: the replica is about to be replaced (its exit is on the way). */
  get emptied(): boolean {
    return this.replica.backends !== undefined && this.replica.backends().length === 0;
  }

  /** Probes it while it runs; stopped when it is taken away. */
  watchHealth(monitor: HealthMonitor): void {
    this.monitor = monitor;
    monitor.start();
  }

  /** A lease on one of its backends; a request lease counts as in flight until released. */
  lease(backend: Backend, kind: AcquireOptions['kind'], session?: SessionUpstream): Lease {
    const counts = kind === 'request';
    if (counts) this.hooks.requestStarted(this.requests++ === 0);
    let released = false;
    return {
      upstream: {
        url: backend.url,
        replicaId: backend.id,
        headers: this.replica.headers,
        ...session,
      },
      signal: this.abort.signal,
      release: () => {
        if (released) return;
        released = true;
        this.hooks.leaseEnded();
        if (!counts) return;
        this.requests--;
        // Leases of a replica already taken away no longer matter.
        if (this.current && this.requests === 0) this.hooks.requestsDone();
      },
    };
  }

  /**
   * Aborts its leases and stops its health checks. Leases the abort ends still count (the
   * server may arm its idle timer); later releases do not. Stopping the replica is the caller's.
   */
  takeAway(reason: Error): void {
    this.abort.abort(reason);
    this.monitor?.stop();
    this.current = false;
  }
}
