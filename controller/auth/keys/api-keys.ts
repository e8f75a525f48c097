// Issuing and revoking API keys (POST/GET/DELETE /api/v1/keys, `mcpfleet keys`). A new key is
// returned once, here, and only its HMAC is stored. Creating or revoking a key tells every
// controller replica to drop its cached row (coord pub/sub), so a revocation takes effect
// everywhere as soon as the message arrives, and within the cache's TTL (30 s) if it is lost.
import type { Coord } from '../../coord/coord.ts';
import type { Logger } from '../../observability/log.ts';
import type { ApiKeyRecord, Store } from '../../store/store.ts';
import type { Role } from '../principal.ts';
import type { ApiKeyAuthenticator } from './api-key-authenticator.ts';
import { isKeyId, newKey } from './key-format.ts';
import { hashSecret } from './secret-hash.ts';

export const KEY_CHANGES_CHANNEL = 'mcpfleet:api-keys:changed';

export interface NewKeyRequest {
  name: string;
  role: Role;
  servers: string[] | null;
  expiresAt: Date | null;
}

/** A request the caller must fix (400/404/409/503), with a message fit to show a person. */
export class ApiKeyError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiKeyError';
    this.status = status;
    this.code = code;
  }
}

export interface ApiKeysOptions {
  store: Pick<Store, 'insertApiKey' | 'listApiKeys' | 'revokeApiKey'>;
  authenticator: ApiKeyAuthenticator;
  /** The key-hashing secret, or why there is none (creating a key then says so). */
  hashingSecret: { secret: Buffer } | { unavailable: string };
  coord?: Pick<Coord, 'publish' | 'subscribe'>;
  logger: Logger;
}

export class ApiKeys {
  readonly authenticator: ApiKeyAuthenticator;
  readonly #options: ApiKeysOptions;
  readonly #log: Logger;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(options: ApiKeysOptions) {
    this.#options = options;
    this.authenticator = options.authenticator;
    this.#log = options.logger.child({ component: 'api-keys' });
  }

  /** Listens for other replicas' key changes. */
  async start(): Promise<void> {
    this.#unsubscribe = await this.#options.coord?.subscribe(KEY_CHANGES_CHANNEL, (id) =>
      this.authenticator.forget(id),
    );
  }

  async close(): Promise<void> {
    await this.#unsubscribe?.().catch(() => undefined);
  }

  /** The new key (shown once) and its record. */
  async create(request: NewKeyRequest): Promise<{ key: string; record: ApiKeyRecord }> {
    const hashing = this.#options.hashingSecret;
    if ('unavailable' in hashing) {
      throw new ApiKeyError(503, 'no-key-hashing-secret', hashing.unavailable);
    }
    const { id, secret, key } = newKey();
    const record = await this.#options.store.insertApiKey({
      id,
      name: request.name,
      role: request.role,
      servers: request.servers,
      secretHmac: hashSecret(hashing.secret, secret),
      expiresAt: request.expiresAt,
    });
    this.#changed(id);
    this.#log.info({ keyId: id, name: record.name, role: record.role }, 'API key created');
    return { key, record };
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.#options.store.listApiKeys();
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    const record = isKeyId(id) ? await this.#options.store.revokeApiKey(id) : undefined;
    if (!record) throw new ApiKeyError(404, 'unknown-key', `No API key with id "${id}"`);
    this.#changed(id);
    this.#log.info({ keyId: id, name: record.name }, 'API key revoked');
    return record;
  }

  #changed(id: string): void {
    this.authenticator.forget(id);
    this.#options.coord?.publish(KEY_CHANGES_CHANNEL, id).catch((err: unknown) => {
      // The others' cached rows then expire on their own, within the cache's TTL.
      this.#log.warn({ err, keyId: id }, 'could not tell the other replicas of a key change');
    });
  }
}
