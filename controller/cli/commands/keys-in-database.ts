// `mcpfleet keys create --database-url`: the first admin key, written straight into the
// controller's database. A controller that checks keys asks every caller for a credential,
// the one that creates keys included; whoever holds the database URL and the key-hashing
// secret is its administrator anyway. Replicas see the new key on its first use.
import { parseNewKey } from '../../api/key-routes.ts';
import type { CreatedApiKey } from '../../api/types.ts';
import type { NewKeyRequest } from '../../auth/keys/api-keys.ts';
import { KEY_HASHING_SECRET_ENV } from '../../auth/keys/key-hashing-secret.ts';
import { silentLogger } from '../../observability/log.ts';

export async function createKeyInDatabase(
  databaseUrl: string,
  request: NewKeyRequest,
): Promise<CreatedApiKey> {
  const given = process.env[KEY_HASHING_SECRET_ENV];
  if (!given) {
    throw new Error(
      `--database-url needs the controller's key-hashing secret in ${KEY_HASHING_SECRET_ENV}`,
    );
  }
  // What the API would refuse is refused here too; the servers are not known without the
  // registry, so they are taken as given.
  const checked = parseNewKey(
    { ...request, expiresAt: request.expiresAt?.toISOString() ?? null },
    () => true,
  );
  if (typeof checked === 'string') throw new Error(checked);
  // Loaded here: the store (pg, PGlite) is not needed by the other commands.
  const { openStore } = await import('../../store/open-store.ts');
  const { openApiKeys } = await import('../../auth/keys/open-api-keys.ts');
  const store = await openStore({ databaseUrl });
  try {
    const keys = await openApiKeys({
      store,
      host: '127.0.0.1',
      dataDir: 'memory://',
      keyHashingSecret: given,
      logger: silentLogger(),
    });
    const { key, record } = await keys.create(checked);
    await keys.close();
    return { key, ...record };
  } finally {
    await store.close();
  }
}
