// Backend sessions the gateway holds on behalf of 2026-07-28 clients of 2025 servers. Such a
// client has no session; its envelope says who it is on every request. Requests of the same
// client (sessions/client-key.ts) with the same envelope (same client info, capabilities and
// log level) at the same backend share one backend session — two clients never do, even with
// the same envelope (two users of one app): what one stored in it the other would read. Each
// is opened the way a 2025 client would open it (session-replay.ts: initialize, initialized,
// setLevel). Bounded: the oldest is ended when the pool is full, and one client holds at most
// PER_CLIENT of them (its own oldest goes first), so a client varying its envelope cannot
// push everyone else's sessions out.
import { createHash } from 'node:crypto';
import type { Logger } from '../observability/log.ts';
import { replaySession } from '../sessions/session-replay.ts';
import { deleteSession } from '../mcp-client/post-message.ts';
import { LATEST_LEGACY_VERSION, type Envelope } from './protocol-eras.ts';

export interface LegacySession {
  /** The backend's MCP-Session-Id ('' when it minted none). */
  sessionId: string;
  protocolVersion: string;
  /** The backend's initialize result: what `server/discover` is answered from. */
  initializeResult: Record<string, unknown>;
}

const POOL_SIZE = 256;
const PER_CLIENT = 8;
const OPEN_TIMEOUT_MS = 30_000;

export class LegacySessions {
  private readonly pool = new Map<string, Promise<LegacySession>>();
  /** Whose each pooled session is (pool key → client). */
  private readonly owners = new Map<string, string>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** The backend session for this envelope at `url`, opened on first use. */
  get(
    url: string,
    headers: Record<string, string>,
    envelope: Envelope,
    client = '',
  ): Promise<LegacySession> {
    const key = poolKey(url, envelope, client);
    let session = this.pool.get(key);
    if (session === undefined) {
      session = this.open(url, headers, envelope);
      session.catch(() => this.drop(key));
      this.pool.set(key, session);
      this.owners.set(key, client);
      const own = [...this.owners].filter(([, owner]) => owner === client);
      if (own.length > PER_CLIENT) this.evict(own[0]![0], headers);
      else if (this.pool.size > POOL_SIZE) this.evict(this.pool.keys().next().value!, headers);
    }
    return session;
  }

  /** The backend no longer knows the session (404): the next request opens a new one. */
  forget(url: string, envelope: Envelope, client = ''): void {
    this.drop(poolKey(url, envelope, client));
  }

  private drop(key: string): void {
    this.pool.delete(key);
    this.owners.delete(key);
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

  private evict(key: string, headers: Record<string, string>): void {
    const session = this.pool.get(key)!;
    this.drop(key);
    const url = key.slice(0, key.indexOf(' '));
    void session
      .then(({ sessionId }) => (sessionId ? deleteSession(url, headers, sessionId) : undefined))
      .catch(() => {});
  }
}

function poolKey(url: string, envelope: Envelope, client: string): string {
  const who = createHash('sha256')
    .update(
      JSON.stringify([client, envelope.clientInfo, envelope.capabilities, envelope.logLevel ?? '']),
    )
    .digest('base64url');
  return `${url} ${who}`;
}
