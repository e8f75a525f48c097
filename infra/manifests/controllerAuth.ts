// What the controller container is told about who may call (issue 10): the `mcpfleet serve`
// auth settings as the environment variables its flags read (serve-auth-flags.ts), and the
// key-hashing secret by reference to the Secret the program fills (never as a value in the
// Deployment). Without `insecureNoAuth` the controller always checks credentials: API keys at
// least, OAuth access tokens when issuers are named.
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { KEY_HASHING_SECRET_ENV } from '../../controller/auth/keys/key-hashing-secret.ts';
import { serializeRoleMap, type AuthConfig, type RoleMap } from '../auth-config.ts';

/** The Secret holding the key-hashing secret API keys are hashed under. */
export const AUTH_SECRET = 'mcpfleet-auth';
export const KEY_HASHING_SECRET_KEY = 'key-hashing-secret';
/** Bumped with auth.keyHashingSecretRotation, so the pods restart and read the new secret. */
export const KEY_HASHING_REVISION_ANNOTATION = 'mcpfleet.dev/key-hashing-secret-revision';

export function controllerAuthEnv(auth: AuthConfig): IEnvVar[] {
  if (auth.insecureNoAuth) return [{ name: 'MCPFLEET_INSECURE_NO_AUTH', value: 'true' }];
  const env: IEnvVar[] = [
    {
      name: KEY_HASHING_SECRET_ENV,
      valueFrom: { secretKeyRef: { name: AUTH_SECRET, key: KEY_HASHING_SECRET_KEY } },
    },
  ];
  if (auth.issuers.length === 0) return env;
  const roleMap = serializeRoleMap(auth.roleMap as RoleMap);
  env.push(
    { name: 'MCPFLEET_AUTH_ISSUER', value: auth.issuers.join(',') },
    { name: 'MCPFLEET_ROLE_CLAIM', value: auth.roleClaim },
    ...(roleMap ? [{ name: 'MCPFLEET_ROLE_MAP', value: roleMap }] : []),
    ...(auth.audience ? [{ name: 'MCPFLEET_AUTH_AUDIENCE', value: auth.audience }] : []),
    ...(auth.requiredScopes.length > 0
      ? [{ name: 'MCPFLEET_AUTH_SCOPE', value: auth.requiredScopes.join(',') }]
      : []),
  );
  return env;
}
