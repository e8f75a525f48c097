// How many sessions a server takes, how many of them one client may hold, and how long a
// session may sit idle — from the server's `_meta["dev.mcpfleet/v1"]` (`scaling`, `sessions`),
// with the defaults applied here, once, for every runtime.
//
// - Capacity: maxReplicas × sessionsPerReplica. A server set to 1 replica × 2 sessions takes
//   exactly 2; the next initialize is refused (503, the server is full for everyone).
// - Per client: `sessions.maxPerClient`, default a quarter of the capacity (at least 1), so a
//   single client can never lock every other one out of a server (429, this client's quota).
// - Idle: `sessions.idleTimeout`, default 30 min. Only requests count: a ping proves the
//   connection lives (MCP's ping utility), not that the session is used, so a client pinging
//   every few seconds no longer holds a process forever.
import { parseDuration } from '../../registry/catalog/duration.ts';
import { DEFAULTS } from '../../registry/catalog/platform-schema.ts';
import type { ServerSpec } from '../../registry/catalog/spec.ts';

export interface SessionLimits {
  /** Sessions the server takes at once, across its replicas. */
  capacity: number;
  /** Sessions one client may hold at once. */
  perClient: number;
  /** A session with no request but pings for this long is ended. */
  idleTimeoutMs: number;
}

export function sessionLimitsOf(spec: Pick<ServerSpec, 'scaling' | 'sessions'>): SessionLimits {
  const capacity = spec.scaling.maxReplicas * spec.scaling.sessionsPerReplica;
  const share = Math.max(1, Math.floor(capacity * DEFAULTS.sessionsPerClientShare));
  return {
    capacity,
    perClient: Math.min(capacity, spec.sessions.maxPerClient ?? share),
    idleTimeoutMs: spec.sessions.idleTimeoutMs ?? parseDuration(DEFAULTS.sessionIdleTimeout),
  };
}

/** Methods that do not make a session active: liveness checks. */
export function isActivity(methods: readonly string[]): boolean {
  return methods.length === 0 || methods.some((method) => method !== 'ping');
}

/**
 * Processes a server's stdio bridge may run: a process per session of its capacity, plus
 * what the controller itself keeps there (the health check's session and the warm spare).
 */
export const BRIDGE_OWN_CHILDREN = 2;

export function bridgeChildCap(spec: Pick<ServerSpec, 'scaling' | 'sessions'>): number {
  return sessionLimitsOf(spec).capacity + BRIDGE_OWN_CHILDREN;
}
