// Coordination: what gateway replicas must share in real time. In-process by default,
// Redis with REDIS_URL. Nothing here is durable; losing it costs a re-initialize or a
// redundant wake, never data.

export interface Coord {
  /** Records traffic for a server (ms since epoch). Callers batch; see the gateway. */
  touch(server: string, atMs: number): Promise<void>;
  lastActivity(server: string): Promise<number | undefined>;

  /**
   * One wake per server across replicas: true when this owner got the lock, or holds it
   * already (re-entrant: a lock this owner left behind, e.g. one whose SET landed after an
   * outage, never makes it wait on itself; the TTL starts again).
   */
  acquireWakeLock(server: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseWakeLock(server: string, owner: string): Promise<void>;
  /** Extends the lock's TTL if `owner` still holds it; false if it expired or changed hands. */
  renewWakeLock(server: string, owner: string, ttlMs: number): Promise<boolean>;

  /** Session → replica routes (the replica/backend id that owns the MCP session). */
  setSessionRoute(server: string, sessionId: string, target: string, ttlMs: number): Promise<void>;
  getSessionRoute(server: string, sessionId: string): Promise<string | undefined>;
  deleteSessionRoute(server: string, sessionId: string): Promise<void>;

  /**
   * Live MCP sessions of a server across controller replicas, for replicas-follow-sessions:
   * each replica marks the sessions it serves (a session served by two replicas counts once)
   * until `untilMs` and renews the mark while they live; a crashed replica's marks lapse.
   */
  markSessionsLive(server: string, sessionIds: readonly string[], untilMs: number): Promise<void>;
  unmarkSessionsLive(server: string, sessionIds: readonly string[]): Promise<void>;
  /** Distinct sessions whose mark has not lapsed at `nowMs`. */
  countLiveSessions(server: string, nowMs: number): Promise<number>;

  /** Pub/sub, e.g. readiness: "server X is ready" reaches every gateway replica. */
  publish(channel: string, message: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;

  close(): Promise<void>;
}
