// A controller whose MCP endpoints are OAuth resource servers of a real OpenID provider
// (test/fixtures/oidc-provider.ts), serving server-everything over stdio (`everything`) and
// over HTTP (`everything-http`) from a registry copy of its own: tokens need the `mcp` scope,
// and the provider's `platform-admins` group maps to the admin role.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuthSettings } from '../../../controller/auth/auth-settings.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import {
  startController,
  type RunningController,
  type StartOptions,
} from '../../../controller/start.ts';
import {
  startIdentityProvider,
  type TestClient,
  type TestIdentityProvider,
} from '../../fixtures/oidc-provider.ts';
import { freePort } from '../support/free-port.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
export const OAUTH_SERVERS = ['everything', 'everything-http'] as const;

export interface OAuthController {
  idp: TestIdentityProvider;
  controller: RunningController;
  close(): Promise<void>;
}

export async function startOAuthController(
  clients: TestClient[],
  options: {
    auth?: Partial<AuthSettings>;
    keyHashingSecret?: string;
    /** Anything else of the controller's start: its port, public URL, rate limits. */
    start?: Partial<StartOptions>;
  } = {},
): Promise<OAuthController> {
  const registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-oauth-'));
  for (const slug of OAUTH_SERVERS)
    await cp(path.join(ROOT, 'registry/servers', slug), path.join(registry, slug), {
      recursive: true,
    });
  const idp = await startIdentityProvider(clients);
  const start: StartOptions = {
    registryDir: registry,
    port: await freePort(),
    dataDir: 'memory://',
    logger: silentLogger(),
    ...(options.keyHashingSecret !== undefined
      ? { keyHashingSecret: options.keyHashingSecret }
      : {}),
    auth: {
      issuers: [idp.issuer],
      requiredScopes: ['mcp'],
      roleMap: { admin: ['platform-admins'] },
      ...options.auth,
    },
    ...options.start,
  };
  let controller: RunningController;
  try {
    controller = await startController(start);
  } catch (err) {
    await idp.close();
    await rm(registry, { recursive: true, force: true });
    throw err;
  }
  return {
    idp,
    controller,
    close: async () => {
      await controller.close();
      await idp.close();
      await rm(registry, { recursive: true, force: true });
    },
  };
}
