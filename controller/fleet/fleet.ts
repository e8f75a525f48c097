// Fleet: the seam between the HTTP surface (gateway, management API) and the lifecycle
// of servers (runtime, activator, scaler, health). The gateway asks for an upstream for
// each request; the fleet wakes, holds, routes and accounts. Nothing here knows HTTP
// framing, and the gateway knows nothing of processes or pods.

import type { ServerStatus } from '../api/types.ts';
import type { FleetEvent, EventQuery } from '../store/store.ts';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import type { BackendBinding, ClientCall } from '../sessions/session-record.ts';

/** Where one request goes. */
export interface Upstream {
  /** Full URL of the MCP endpoint, e.g. http://127.0.0.1:41234/mcp or a remote URL. */
  url: string;
  /** The replica/backend serving it; sessions stick to it. */
  replicaId: string;
  /** Extra headers for the upstream (remotes: auth headers resolved from secrets). */
  headers: Record<string, string>;
  /**
   * For a request in a session: the backend's own MCP-Session-Id to send instead of the
   * client's ('' when the backend minted none).
   */
  sessionId?: string;
  /** The session was just replayed on this backend: the client's Last-Event-ID means nothing here. */
  resumed?: boolean;
  /** For a request in a session: what its client said at initialize (era translation needs it). */
  session?: SessionOrigin;
}

/** The client's side of a session: its initialize, its log level, how its server speaks. */
export interface SessionOrigin {
  initialize: Record<string, unknown>;
  logLevel?: string;
  backendEra?: 'modern';
}

/**
 * A request in flight. `release()` must be called exactly once when the response ends
 * (however it ends). `signal` aborts when the fleet takes the upstream away (sleep, crash):
 * the gateway then ends the client response cleanly.
 */
export interface Lease {
  upstream: Upstream;
  signal: AbortSignal;
  release(): void;
}

export interface AcquireOptions {
  /** MCP-Session-Id of the request, if any: routes to the replica owning the session. */
  sessionId?: string;
  /**
   * "request": counts as in-flight, keeps the server awake until released.
   * "stream": a standalone GET SSE stream; does not keep the server awake, and is aborted
   * (lease.signal) when the server sleeps.
   */
  kind: 'request' | 'stream';
  /** The client went away: stop waiting. */
  signal?: AbortSignal;
  /** Who sent it (sessions/client-key.ts): what the per-client session limit counts. */
  client?: string;
  /**
   * The authenticated caller's principal id (undefined: anonymous). A session is bound to the
   * principal that opened it: used by anyone else, it is unknown (404).
   */
  principal?: string;
  /**
   * The JSON-RPC methods of a POST, as the gateway peeked them: an initialize is admitted
   * against the session limits, and a POST of pings only does not make its session active.
   */
  methods?: readonly string[];
  /**
   * A stream of a session whose server sleeps waits, without waking it, for the session's
   * next request: called when that wait starts (the gateway opens the client's stream then).
   */
  onPark?: () => void;
}

/** Why a request cannot be served; the gateway maps it to HTTP + a JSON-RPC error body. */
export class FleetError extends Error {
  readonly status: 404 | 429 | 502 | 503 | 504;
  readonly code:
    | 'unknown-server'
    | 'unknown-session'
    | 'session-limit'
    | 'at-capacity'
    | 'resume-failed'
    | 'overloaded'
    | 'wake-timeout'
    | 'failed'
    | 'unavailable';
  readonly retryAfterSeconds: number | undefined;
  /** More for the JSON-RPC error's `data` (e.g. the limit a refusal names). */
  readonly data: Record<string, unknown> | undefined;
  constructor(
    status: FleetError['status'],
    code: FleetError['code'],
    message: string,
    retryAfterSeconds?: number,
    data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'FleetError';
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
    this.data = data;
  }
}

export interface Fleet {
  /** Slugs of every registered server. */
  slugs(): string[];
  has(slug: string): boolean;

  /**
   * Resolves once the server is ready, waking it if asleep (one wake per burst, however
   * large). Rejects with FleetError: 404 unknown server, 404 unknown session (a session id
   * no live replica owns, e.g. from before a sleep: the client re-initializes instead of
   * waking the server for nothing), 503 overloaded (hold queue full,
   * with Retry-After) / failed / unavailable, 504 when the wake misses its deadline.
   */
  acquire(slug: string, options: AcquireOptions): Promise<Lease>;

  /**
   * An initialize response minted a backend session: resolves with the client-facing session
   * id the gateway hands out instead (the session outlives its backend). `backendEra`
   * 'modern': the gateway answered the initialize itself for a 2026-07-28-only server.
   */
  sessionOpened(
    slug: string,
    backend: BackendBinding,
    initialize: Record<string, unknown>,
    backendEra?: 'modern',
    client?: string,
    principal?: string,
  ): Promise<string>;
  /** The backend answered DELETE: the session is over. */
  sessionClosed(slug: string, sessionId: string): Promise<void>;
  /**
   * The backend answered 404 for the session's binding. Resolves true when the request is
   * worth sending again (the session will be bound anew), false when the session is over.
   */
  sessionLost(slug: string, sessionId: string, binding: BackendBinding): Promise<boolean>;
  /** The client's calls on a session were answered (log level, subscriptions to replay). */
  sessionCallsAnswered(
    slug: string,
    sessionId: string,
    calls: readonly ClientCall[],
  ): Promise<void>;
  /** A DELETE: 'forward' it to the backend holding the session, or it 'ended' here already. */
  endSession(slug: string, sessionId: string, principal?: string): Promise<'forward' | 'ended'>;

  status(slug: string): ServerStatus | undefined;
  list(): ServerStatus[];
  /** Management API: wake resets a `failed` server too. Resolves when ready. */
  wake(slug: string): Promise<ServerStatus>;
  /** Management API: drains then sleeps. Resolves when asleep. */
  sleep(slug: string): Promise<ServerStatus>;
  events(query: EventQuery): Promise<FleetEvent[]>;

  /** Follows a registry change: adds, removes and updates servers while serving. */
  applyRegistry?(specs: readonly ServerSpec[]): Promise<void>;

  /** The runtime's own readiness, when it has one (the Kubernetes runtime's informer). */
  runtimeReadiness?(): { ok: boolean; error?: string } | undefined;

  start(): Promise<void>;
  /**
   * The first half of a graceful shutdown: from now on every new request (and every request
   * held for a wake) is refused with 503; resolves once the requests in flight have ended, or
   * after `graceMs` with some still running (`stop()` then ends them with an error).
   */
  drain?(graceMs: number): Promise<{ unfinished: number }>;
  /** Stops every child/backend (no orphans) and closes store/coord. */
  stop(): Promise<void>;
}
