// API keys as an Authenticator (auth/principal.ts): a credential starting with mcpf_ is looked
// up by its id, its secret's HMAC compared in constant time, and the key's record becomes the
// Principal. Verified rows are cached (default 30 s, bounded), so a request with a key does
// not reach the database; a revocation on this replica takes effect at once, and on the
// others when they hear of it (coord pub/sub) or, at the latest, when the cached row expires.
// The last use is written at most once a minute per key, never awaited by a request.
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../observability/log.ts';
import type { Store, StoredApiKey } from '../../store/store.ts';
import { CredentialCheckUnavailable } from '../credential-check-unavailable.ts';
import type { Authenticator, AuthRefusal, Principal } from '../principal.ts';
import { looksLikeKey, parseKey } from './key-format.ts';
import { secretMatches } from './secret-hash.ts';

export const DEFAULT_KEY_CACHE_TTL_MS = 30_000;
export const DEFAULT_KEY_CACHE_SIZE = 10_000;
export const DEFAULT_TOUCH_INTERVAL_MS = 60_000;

/** What every refused key is told: which of unknown, revoked, expired or wrong is only logged. */
export const KEY_REFUSED = 'The API key is not valid';

export interface ApiKeyAuthenticatorOptions {
  store: Pick<Store, 'findApiKey' | 'touchApiKey'>;
  /** The key-hashing secret; undefined: none configured, so every key is refused (and why logged). */
  hashingSecret: Buffer | undefined;
  logger: Logger;
  cacheTtlMs?: number;
  cacheSize?: number;
  touchIntervalMs?: number;
  now?: () => number;
}

/** A row as cached: undefined for an id the store does not know. */
interface CachedKey {
  stored: StoredApiKey | undefined;
}

export class ApiKeyAuthenticator implements Authenticator {
  readonly name = 'api-key';
  readonly #store: ApiKeyAuthenticatorOptions['store'];
  readonly #secret: Buffer | undefined;
  readonly #log: Logger;
  readonly #touchIntervalMs: number;
  readonly #now: () => number;
  readonly #rows: LRUCache<string, CachedKey>;
  /** When each key's last use was last written (ms). */
  readonly #touched = new Map<string, number>();
  /** Counts forget() calls, to tell a read aborted by one from a failed one. */
  #forgotten = 0;

  constructor(options: ApiKeyAuthenticatorOptions) {
    this.#store = options.store;
    this.#secret = options.hashingSecret;
    this.#log = options.logger.child({ component: 'api-keys' });
    this.#touchIntervalMs = options.touchIntervalMs ?? DEFAULT_TOUCH_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
    this.#rows = new LRUCache<string, CachedKey>({
      max: options.cacheSize ?? DEFAULT_KEY_CACHE_SIZE,
      ttl: options.cacheTtlMs ?? DEFAULT_KEY_CACHE_TTL_MS,
      // Concurrent requests with one uncached key share one database read.
      fetchMethod: async (id) => ({ stored: await this.#store.findApiKey(id) }),
    });
  }

  recognises(credential: string): boolean {
    return looksLikeKey(credential);
  }

  async verify(credential: string, _resource: string): Promise<Principal | AuthRefusal> {
    const parts = parseKey(credential);
    if (!parts) return this.#refuse(undefined, 'malformed key');
    if (!this.#secret) return this.#refuse(parts.id, 'no key-hashing secret is configured');
    const stored = await this.#row(parts.id);
    if (!stored) return this.#refuse(parts.id, 'unknown key id');
    // Checked before the state, so a guess at a known id learns nothing about the key.
    if (!secretMatches(this.#secret, parts.secret, stored.secretHmac)) {
      return this.#refuse(parts.id, 'wrong secret');
    }
    if (stored.revokedAt !== null) return this.#refuse(parts.id, 'revoked');
    const now = this.#now();
    const expiresAt = stored.expiresAt === null ? undefined : Date.parse(stored.expiresAt);
    if (expiresAt !== undefined && expiresAt <= now) return this.#refuse(parts.id, 'expired');
    this.#noteUse(stored.id, now);
    return {
      id: `key:${stored.id}`,
      kind: 'key',
      name: stored.name,
      roles: [stored.role],
      groups: [],
      scopes: [],
      ...(stored.servers !== null ? { servers: stored.servers } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    };
  }

  /** Drops a key's cached row: it was revoked (here, or on another replica) or created. */
  forget(id: string): void {
    this.#forgotten++;
    this.#rows.delete(id);
    this.#touched.delete(id);
  }

  /**
   * The key's row, cached. A forget() while the read is in flight aborts it (the row read may
   * predate the revocation): read again rather than keep it. A store that does not answer
   * makes the key uncheckable, not wrong (CredentialCheckUnavailable: a 503, not a 401).
   */
  async #row(id: string): Promise<StoredApiKey | undefined> {
    for (let attempt = 1; ; attempt++) {
      const forgotten = this.#forgotten;
      try {
        return (await this.#rows.fetch(id))?.stored;
      } catch (err) {
        if (this.#forgotten === forgotten || attempt >= 3) {
          this.#log.warn({ err, keyId: id }, 'cannot check an API key: the store did not answer');
          throw new CredentialCheckUnavailable('the API key store', err);
        }
      }
    }
  }

  #noteUse(id: string, now: number): void {
    const last = this.#touched.get(id);
    if (last !== undefined && now - last < this.#touchIntervalMs) return;
    this.#touched.set(id, now);
    this.#store.touchApiKey(id, new Date(now)).catch((err: unknown) => {
      this.#log.warn({ err, keyId: id }, 'could not record the last use of an API key');
    });
  }

  #refuse(keyId: string | undefined, reason: string): AuthRefusal {
    this.#log.info({ keyId, reason }, 'API key refused');
    return { refused: true, error: 'invalid_token', description: KEY_REFUSED };
  }
}
