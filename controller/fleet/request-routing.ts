// Which backend of the awake replica a request goes to, and under which backend session. A
// request outside a session goes to the backend holding the fewest sessions; a session goes to
// the backend it is bound to; a session whose backend went away (sleep, crash, pod gone) is
// replayed on the least loaded backend first — or, where the server does not resume sessions,
// ends with 404 so the client re-initializes.
import { isConnectionError } from '../mcp-client/post-message.ts';
import type { ServerSessions } from '../sessions/server-sessions.ts';
import { ReplayError } from '../sessions/session-replay.ts';
import type { SessionRecord } from '../sessions/session-record.ts';
import type { AwakeReplica, SessionUpstream } from './awake-replica.ts';
import { chooseBackend } from './backend-choice.ts';
import { FleetError, type AcquireOptions, type Lease } from './fleet.ts';
import type { Refusals } from './refusals.ts';

/** A replay that reached nothing is tried again this often, this many times (≈ 5 s). */
const UNREACHABLE_REPLAY_PAUSE_MS = 250;
const UNREACHABLE_REPLAY_RETRIES = 20;

export interface RequestRoutingOptions {
  slug: string;
  sessions: ServerSessions;
  refusals: Refusals;
  /** A replay gives up after the server's startup timeout (the spec may change). */
  replayTimeoutMs: () => number;
}

/** Replays of one request that reached nothing so far. */
export interface UnreachableReplays {
  replays: number;
}

export class RequestRouting {
  private readonly options: RequestRoutingOptions;

  constructor(options: RequestRoutingOptions) {
    this.options = options;
  }

  /**
   * A lease on a backend of `awake`, for a request in the session of `record` if any.
   * Undefined when the replica went away during the replay (its pod was already leaving):
   * the caller goes around again, to the next replica.
   */
  async lease(
    awake: AwakeReplica,
    options: AcquireOptions,
    record: SessionRecord | undefined,
    unreachable: UnreachableReplays,
  ): Promise<Lease | undefined> {
    const { sessions, refusals } = this.options;
    const backends = awake.backends();
    const id = options.sessionId;
    if (id === undefined || record === undefined) {
      const backend = chooseBackend(backends, sessions.byBackend, undefined)!;
      return awake.lease(backend, options.kind);
    }
    const bound = record.backend && backends.find((b) => b.id === record.backend!.replicaId);
    if (bound) {
      sessions.adopt(id, bound.id, record.client);
      return awake.lease(bound, options.kind, sessionUpstream(record.backend!.sessionId, record));
    }
    if (!sessions.resumes) {
      await sessions.closed(id);
      throw refusals.unknownSession();
    }
    const chosen = chooseBackend(backends, sessions.byBackend, undefined)!;
    // Counts as in flight while the replay runs, so the server does not sleep under it.
    const replaying = awake.lease(chosen, 'request');
    try {
      const binding = await sessions.rebind(
        id,
        record,
        { url: chosen.url, headers: awake.replica.headers, replicaId: chosen.id },
        AbortSignal.any([awake.signal, AbortSignal.timeout(this.options.replayTimeoutMs())]),
      );
      if (awake.signal.aborted) return undefined;
      const backend = backends.find((b) => b.id === binding.replicaId) ?? chosen;
      return awake.lease(backend, options.kind, sessionUpstream(binding.sessionId, record, true));
    } catch (err) {
      if (awake.signal.aborted) return undefined;
      if (err instanceof FleetError) throw err;
      // Nothing answered at the backend, or its bridge said it is leaving: a pod on its way
      // out that this controller's view still lists (another controller replica slept the
      // server a moment ago). Look again shortly: its departure arrives, and the request
      // wakes the server instead.
      const leaving = isConnectionError(err) || (err instanceof ReplayError && err.backendLeaving);
      if (leaving && unreachable.replays++ < UNREACHABLE_REPLAY_RETRIES) {
        await new Promise((resolve) => setTimeout(resolve, UNREACHABLE_REPLAY_PAUSE_MS));
        return undefined;
      }
      throw refusals.rejected(
        new FleetError(
          502,
          'resume-failed',
          `could not resume the session on server ${this.options.slug}: ${(err as Error).message}`,
        ),
      );
    } finally {
      replaying.release();
    }
  }
}

/** The session half of an Upstream: the backend's id for it and what its client said. */
function sessionUpstream(
  sessionId: string,
  record: SessionRecord,
  resumed?: boolean,
): SessionUpstream {
  return {
    sessionId,
    ...(resumed ? { resumed: true } : {}),
    session: {
      initialize: record.initialize,
      ...(record.logLevel ? { logLevel: record.logLevel } : {}),
      ...(record.backendEra ? { backendEra: record.backendEra } : {}),
    },
  };
}
