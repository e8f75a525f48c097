// Backend sessions the gateway holds on behalf of 2026-07-28 clients of 2025 servers. Such a
// client has no session; its envelope says who it is on every request. Requests with the
// same envelope (same client info, capabilities and log level) at the same backend share
// one backend session, opened the way a 2025 client would open it (session-replay.ts:
// initialize, initialized, setLevel). Bounded: the oldest is ended when the pool is full.
import { createHash } from 'node:crypto';
import type { Logger } from '../observability/log.ts';
import { replaySession } from '../sessions/session-replay.ts';
import { LATEST_LEGACY_VERSION, type Envelope } from './protocol-eras.ts';

export interface LegacySession {
  /** The backend's MCP-Session-Id ('' when it minted none). */
  sessionId: string;
  protocolVersion: string;
  /** The backend's initialize result: what `server/discover` is answered from. */
  initializeResult: Record<string, unknown>;
}

const POOL_SIZE = 256;
const OPEN_TIMEOUT_MS = 30_000;

export class LegacySessions {
  private readonly pool = new Map<string, Promise<LegacySession>>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** The backend session for this envelope at `url`, opened on first use. */
  get(url: string, headers: Record<string, string>, envelope: Envelope): Promise<LegacySession> {
    const key = poolKey(url, envelope);
    let session = this.pool.get(key);
    if (session === undefined) {
      session = this.open(url, headers, envelope);
      session.catch(() => this.pool.delete(key));
      this.pool.set(key, session);
      if (this.pool.size > POOL_SIZE) this.evictOldest(headers);
    }
    return session;
  }

  /** The backend no longer knows the session (404): the next request opens a new one. */
  forget(url: string, envelope: Envelope): void {
    this.pool.delete(poolKey(url, envelope));
  }

  get size(): number {
    return this.pool.size;
  }

  private async open(
    url: string,
    headers: Record<string, string>,
    envelope: Envelope,
  ): Promise<LegacySession> {
    const { binding, protocolVersion, result } = await replaySession(
      { url, headers, replicaId: url },
      {
        v: 1,
        initialize: {
          protocolVersion: LATEST_LEGACY_VERSION,
          capabilities: envelope.capabilities,
          clientInfo: envelope.clientInfo,
        },
        ...(envelope.logLevel ? { logLevel: envelope.logLevel } : {}),
        subscriptions: [],
      },
      AbortSignal.timeout(OPEN_TIMEOUT_MS),
      this.logger,
    );
    return {
      sessionId: binding.sessionId,
      protocolVersion: protocolVersion ?? LATEST_LEGACY_VERSION,
      initializeResult: result ?? {},
    };
  }

  private evictOldest(headers: Record<string, string>): void {
    const [key, session] = this.pool.entries().next().value!;
    this.pool.delete(key);
    const url = key.slice(0, key.indexOf(' '));
    // Best effort: a backend that already forgot it answers 404, which is fine.
    void session
      .then(({ sessionId }) =>
        sessionId
          ? fetch(url, {
              method: 'DELETE',
              headers: { ...headers, 'mcp-session-id': sessionId },
              signal: AbortSignal.timeout(2000),
            })
          : undefined,
      )
      .catch(() => {});
  }
}

function poolKey(url: string, envelope: Envelope): string {
  const who = createHash('sha256')
    .update(JSON.stringify([envelope.clientInfo, envelope.capabilities, envelope.logLevel ?? '']))
    .digest('base64url');
  return `${url} ${who}`;
}
