// The controller's access control, put together from what was configured: the JWT
// authenticator of the configured issuers plus any other authenticators (API keys), the gate
// in front of the MCP endpoints and the API, the metadata documents, and whether starting
// open is allowed here (open-gateway-policy.ts).
import type { Logger } from '../observability/log.ts';
import { isLoopbackHostname } from '../gateway/validate-request.ts';
import { AccessGate } from './access-gate.ts';
import { defaultAuthSettings, type AuthSettings } from './auth-settings.ts';
import { JwtAuthenticator } from './jwt-authenticator.ts';
import { openGatewayVerdict, OpenGatewayRefused } from './open-gateway-policy.ts';
import type { Authenticator } from './principal.ts';
import type { ResourceMetadataSource } from './protected-resource-metadata.ts';
import { ResourceUrls } from './resource-urls.ts';

export interface ControllerAccessOptions {
  settings?: Partial<AuthSettings>;
  /** Authenticators besides the issuers' tokens (API keys). */
  authenticators?: readonly Authenticator[];
  /** The listen address. */
  host: string;
  /** The configured public URL, without a trailing slash. */
  publicUrl: string | undefined;
  /** The listen URL, known once listening (the base without a public URL). */
  listenUrl: () => string;
  has: (slug: string) => boolean;
  logger: Logger;
}

export interface ControllerAccess {
  gate: AccessGate;
  metadata: ResourceMetadataSource;
  /** For /readyz: set when the controller runs open beyond loopback on purpose. */
  warning: string | undefined;
}

export function createControllerAccess(options: ControllerAccessOptions): ControllerAccess {
  const settings: AuthSettings = { ...defaultAuthSettings(), ...options.settings };
  const { publicUrl, host } = options;
  if (settings.issuers.length > 0 && publicUrl === undefined && !isLoopbackHostname(host))
    throw new OpenGatewayRefused(
      '--auth-issuer needs --public-url (MCPFLEET_PUBLIC_URL): tokens are for the URL clients ' +
        'call, which a controller listening on ' +
        `${host} cannot know (behind an Ingress it is not the listen address)`,
    );
  const urls = new ResourceUrls(() => publicUrl ?? options.listenUrl());
  const authenticators: Authenticator[] = [...(options.authenticators ?? [])];
  if (settings.issuers.length > 0) {
    const jwt = new JwtAuthenticator({
      settings,
      gatewayResource: () => urls.gateway(),
      logger: options.logger,
    });
    jwt.warm();
    authenticators.push(jwt);
  }
  const verdict = openGatewayVerdict(host, authenticators.length, settings.insecureNoAuth);
  const warning = verdict.open ? verdict.warning : undefined;
  if (warning) options.logger.warn({ component: 'auth' }, warning);
  const gate = new AccessGate({ authenticators, urls, requiredScopes: settings.requiredScopes });
  return {
    gate,
    warning,
    metadata: {
      urls,
      authorizationServers: settings.issuers,
      scopes: settings.requiredScopes,
      protects: () => !gate.open,
      has: options.has,
    },
  };
}
