// API keys as the controller starts them, in two steps because the access gate is built before
// the store opens: prepareApiKeys resolves the key-hashing secret (given, generated on loopback,
// or none: keys refused saying so) and makes the authenticator; open() attaches the store and
// listens for other replicas' revocations. Keys join the gate when a key-hashing secret is
// configured (--key-hashing-secret, MCPFLEET_KEY_HASHING_SECRET): from then on every caller
// needs a credential. A loopback controller without one stays open (everyone is admin) and its
// keys, hashed under a generated secret, are not asked for.
import type { Coord } from '../../coord/coord.ts';
import { isLoopbackHostname } from '../../gateway/validate-request.ts';
import type { Logger } from '../../observability/log.ts';
import type { Store } from '../../store/store.ts';
import { ApiKeyAuthenticator } from './api-key-authenticator.ts';
import { ApiKeys } from './api-keys.ts';
import { KEY_HASHING_SECRET_ENV, resolveKeyHashingSecret } from './key-hashing-secret.ts';

export interface PrepareApiKeysOptions {
  /** The listen address: beyond loopback a key-hashing secret must be given. */
  host: string;
  /** The embedded database's directory, beside which a generated secret is kept. */
  dataDir: string;
  /** --key-hashing-secret; default MCPFLEET_KEY_HASHING_SECRET. */
  keyHashingSecret?: string;
  logger: Logger;
}

export interface PreparedApiKeys {
  /** A key-hashing secret was given: keys are checked by the access gate. */
  configured: boolean;
  authenticator: ApiKeyAuthenticator;
  /** `coord`: where revocations are told to other replicas (none: they see them within the cache TTL). */
  open(store: Store, coord?: Coord): Promise<ApiKeys>;
}

export async function prepareApiKeys(options: PrepareApiKeysOptions): Promise<PreparedApiKeys> {
  const given = options.keyHashingSecret ?? (process.env[KEY_HASHING_SECRET_ENV] || undefined);
  const hashingSecret = await resolveKeyHashingSecret({
    given,
    loopback: isLoopbackHostname(options.host),
    dataDir: options.dataDir,
  });
  if ('unavailable' in hashingSecret) {
    options.logger.warn({ component: 'api-keys' }, hashingSecret.unavailable);
  }
  let opened: Store | undefined;
  const store = (): Store => {
    if (!opened) throw new Error('API keys were checked before the store opened');
    return opened;
  };
  const authenticator = new ApiKeyAuthenticator({
    store: {
      findApiKey: (id) => store().findApiKey(id),
      touchApiKey: (id, at) => store().touchApiKey(id, at),
    },
    hashingSecret: 'secret' in hashingSecret ? hashingSecret.secret : undefined,
    logger: options.logger,
  });
  return {
    configured: given !== undefined,
    authenticator,
    open: async (openedStore, coord) => {
      opened = openedStore;
      const keys = new ApiKeys({
        store: openedStore,
        coord,
        hashingSecret,
        authenticator,
        logger: options.logger,
      });
      await keys.start();
      return keys;
    },
  };
}

/** Both steps at once, for a store already open (tests, tools). */
export async function openApiKeys(
  options: PrepareApiKeysOptions & { store: Store; coord?: Coord },
): Promise<ApiKeys> {
  return (await prepareApiKeys(options)).open(options.store, options.coord);
}
