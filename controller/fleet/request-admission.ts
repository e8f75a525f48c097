// What a request gets from its server, by the server's state: a refusal (unavailable, failed),
// a lease on a backend (ready, or draining — a request cancels an idle drain), a place in the
// hold queue until the wake it starts or joins, or, for the GET stream of a sleeping server's
// session, a parked wait until the session is bound again. A session is looked up first: one
// unknown here, or one that cannot be replayed while nothing runs it, is 404, and its client
// re-initializes. Ending a session (DELETE) never wakes a server either. An initialize is
// admitted against the session limits first (sessions/session-limits.ts): a client holding
// its share is refused (429), a server holding its capacity too (503), before anything wakes.
import type { Runtime } from '../runtime/runtime.ts';
import type { ServerSessions } from '../sessions/server-sessions.ts';
import { ownsSession, type SessionRecord } from '../sessions/session-record.ts';
import { UNKNOWN_CLIENT } from '../sessions/session-activity.ts';
import { isActivity, sessionLimitsOf } from '../sessions/session-limits.ts';
import { FleetError, type AcquireOptions, type Lease } from './fleet.ts';
import type { Refusals } from './refusals.ts';
import { RequestRouting } from './request-routing.ts';
import type { ServerLifecycle } from './server-lifecycle.ts';

export interface RequestAdmissionOptions {
  lifecycle: ServerLifecycle;
  sessions: ServerSessions;
  refusals: Refusals;
  runtime: Runtime;
}

const noop = (): void => {};

export class RequestAdmission {
  private readonly options: RequestAdmissionOptions;
  private readonly routing: RequestRouting;

  constructor(options: RequestAdmissionOptions) {
    this.options = options;
    const { lifecycle, sessions, refusals } = options;
    this.routing = new RequestRouting({
      slug: lifecycle.slug,
      sessions,
      refusals,
      replayTimeoutMs: () => lifecycle.spec.health.startupTimeoutMs,
    });
  }

  async acquire(options: AcquireOptions): Promise<Lease> {
    const { sessions } = this.options;
    const id = options.sessionId;
    // An initialize holds its place in the limits from now until its lease ends (by then the
    // session it opened counts instead); refused, it wakes nothing.
    const initialize = id === undefined && options.methods?.includes('initialize') === true;
    const reserved = initialize ? await this.admitSession(options) : noop;
    let lease: Lease;
    try {
      lease = await this.lease(options);
    } catch (err) {
      reserved();
      throw err;
    }
    // A request in a session keeps it from idling out while it runs, and one that is not a
    // ping makes it active. A GET stream does neither: it only listens, and a client holding
    // streams open (with pings) must not hold its sessions, and their processes, forever.
    const ended =
      id === undefined
        ? reserved
        : options.kind === 'request'
          ? sessions.requestBegan(id, isActivity(options.methods ?? []))
          : noop;
    const release = lease.release;
    return {
      ...lease,
      release: () => {
        ended();
        release();
      },
    };
  }

  /** Counts an initialize against the limits, or refuses it; returns the end of its place. */
  private async admitSession(options: AcquireOptions): Promise<() => void> {
    const { lifecycle, sessions, refusals } = this.options;
    const limits = sessionLimitsOf(lifecycle.spec);
    const client = options.client ?? UNKNOWN_CLIENT;
    if (sessions.heldBy(client) >= limits.perClient)
      throw refusals.clientLimit(limits.perClient, sessions.retryAfterSeconds(client));
    const held = (await sessions.globalCount()) + sessions.reservations;
    if (held >= limits.capacity)
      throw refusals.atCapacity(limits.capacity, sessions.retryAfterSeconds());
    return sessions.reserve(client);
  }

  private async lease(options: AcquireOptions): Promise<Lease> {
    const { lifecycle, sessions, refusals } = this.options;
    const { state } = lifecycle;
    const id = options.sessionId;
    if (lifecycle.shuttingDown) throw refusals.shuttingDown();
    let record: SessionRecord | undefined;
    if (id !== undefined) {
      record = await sessions.find(id);
      if (!record || !ownsSession(record, options.principal)) throw refusals.unknownSession();
      // Without replay a session dies with its backend: while no replica runs (and none runs
      // it for another controller replica) answer 404 so the client re-initializes, rather
      // than waking the server for a session it no longer has.
      if (!sessions.resumes && !state.awake && !this.boundElsewhere(record)) {
        await sessions.closed(id);
        throw refusals.unknownSession();
      }
    }
    lifecycle.idle.recordActivity();
    const unreachable = { replays: 0 };
    for (;;) {
      switch (state.current) {
        case 'unavailable':
          throw refusals.rejected(refusals.unavailable(state.reason));
        case 'failed':
          throw refusals.rejected(refusals.failed(state.reason));
        case 'ready':
        case 'draining': {
          // A replica whose every pod just went away is about to be replaced (its exit is on
          // the way): hold the request for the restart instead of routing it nowhere.
          // No replica at all: the controller stops (holdForWake refuses).
          const awake = lifecycle.awake;
          if (awake && !awake.emptied) {
            lifecycle.idle.cancelIdleDrain();
            const lease = await this.routing.lease(awake, options, record, unreachable);
            if (lease) return lease;
            break; // the replica went away under a replay: around again (a wake)
          }
          await lifecycle.holdForWake(options);
          break;
        }
        default:
          if (options.kind === 'stream' && id !== undefined && !this.boundElsewhere(record!)) {
            // A GET stream never wakes a server: it waits, parked, until its session is bound
            // again (by the client's next request, through any controller replica).
            options.onPark?.();
            await sessions.changed(id, options.signal ?? new AbortController().signal);
            if (options.signal?.aborted) throw new FleetError(503, 'unavailable', 'client left');
            if (lifecycle.shuttingDown) throw refusals.shuttingDown();
            record = await sessions.find(id, true);
            if (!record || !ownsSession(record, options.principal)) throw refusals.unknownSession();
            break;
          }
          await lifecycle.holdForWake(options);
      }
    }
  }

  /**
   * DELETE of a session: 'forward' when a backend holds it now (the gateway forwards the
   * DELETE), else it is simply forgotten — ending a session never wakes a server.
   */
  async endSession(sessionId: string, principal?: string): Promise<'forward' | 'ended'> {
    const { lifecycle, sessions, refusals } = this.options;
    const record = await sessions.find(sessionId);
    if (!record || !ownsSession(record, principal)) throw refusals.unknownSession();
    const awake = lifecycle.state.awake ? lifecycle.awake : undefined;
    const backends = awake ? awake.backends() : [];
    const live =
      record.backend !== undefined &&
      (backends.some((b) => b.id === record.backend!.replicaId) || this.boundElsewhere(record));
    if (live) return 'forward';
    await sessions.closed(sessionId);
    return 'ended';
  }

  /** Bound to a backend that still runs for another controller replica (a cluster). */
  private boundElsewhere(record: SessionRecord): boolean {
    const { runtime, lifecycle } = this.options;
    return record.backend !== undefined && runtime.running?.(lifecycle.spec) === true;
  }
}
