// API keys as the controller starts them: the key-hashing secret resolved (given, generated on
// loopback, or none: keys refused saying so), the authenticator over the store, and the
// revocation messages of other replicas listened to.
import type { Coord } from '../../coord/coord.ts';
import { isLoopbackHostname } from '../../gateway/validate-request.ts';
import type { Logger } from '../../observability/log.ts';
import type { Store } from '../../store/store.ts';
import { ApiKeyAuthenticator } from './api-key-authenticator.ts';
import { ApiKeys } from './api-keys.ts';
import { KEY_HASHING_SECRET_ENV, resolveKeyHashingSecret } from './key-hashing-secret.ts';

export interface OpenApiKeysOptions {
  store: Store;
  coord: Coord;
  /** The listen address: beyond loopback a key-hashing secret must be given. */
  host: string;
  /** The embedded database's directory, beside which a generated secret is kept. */
  dataDir: string;
  /** --key-hashing-secret; default MCPFLEET_KEY_HASHING_SECRET. */
  keyHashingSecret?: string;
  logger: Logger;
}

export async function openApiKeys(options: OpenApiKeysOptions): Promise<ApiKeys> {
  const given = options.keyHashingSecret ?? (process.env[KEY_HASHING_SECRET_ENV] || undefined);
  const hashingSecret = await resolveKeyHashingSecret({
    given,
    loopback: isLoopbackHostname(options.host),
    dataDir: options.dataDir,
  });
  if ('unavailable' in hashingSecret) {
    options.logger.warn({ component: 'api-keys' }, hashingSecret.unavailable);
  }
  const keys = new ApiKeys({
    store: options.store,
    coord: options.coord,
    hashingSecret,
    authenticator: new ApiKeyAuthenticator({
      store: options.store,
      hashingSecret: 'secret' in hashingSecret ? hashingSecret.secret : undefined,
      logger: options.logger,
    }),
    logger: options.logger,
  });
  await keys.start();
  return keys;
}
