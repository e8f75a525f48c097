// Which backend of an awake server gets a request: a session stays on the backend it was
// opened on; anything else goes to the backend holding the fewest sessions (new sessions
// spread over the pods that replicas-follow-sessions brought up).
import type { Backend } from '../runtime/runtime.ts';

/**
 * `sessions` maps session id → backend id. Returns undefined when the session's backend is
 * gone (its pod stopped): the caller answers 404 so the client re-initializes.
 */
export function chooseBackend(
  backends: readonly Backend[],
  sessions: ReadonlyMap<string, string>,
  sessionId: string | undefined,
): Backend | undefined {
  if (backends.length === 0) return undefined;
  const owner = sessionId === undefined ? undefined : sessions.get(sessionId);
  if (owner !== undefined) return backends.find((b) => b.id === owner);
  if (backends.length === 1) return backends[0];
  const load = new Map(backends.map((b) => [b.id, 0]));
  for (const id of sessions.values()) if (load.has(id)) load.set(id, load.get(id)! + 1);
  return backends.reduce((best, b) => (load.get(b.id)! < load.get(best.id)! ? b : best));
}
