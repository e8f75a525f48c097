// Defaults that cannot be left open by accident: on loopback with no identity configured the
// controller stays as simple as `npm start` has always been (everyone is ANONYMOUS), but
// listening where others can reach it with nobody authenticated is refused at start — unless
// asked for in so many words (--insecure-no-auth), and then said in the log and in /readyz.
import { isLoopbackHostname } from '../gateway/validate-request.ts';

export class OpenGatewayRefused extends Error {}

export type OpenGatewayVerdict = { open: false } | { open: true; warning?: string };

/**
 * `identities`: how many authenticators are configured (issuers, API keys). Throws
 * OpenGatewayRefused with the whole explanation when the controller must not start.
 */
export function openGatewayVerdict(
  host: string,
  identities: number,
  insecureNoAuth: boolean,
): OpenGatewayVerdict {
  if (identities > 0) return { open: false };
  if (isLoopbackHostname(host)) return { open: true };
  if (!insecureNoAuth)
    throw new OpenGatewayRefused(
      `listening on ${host} (beyond loopback) with no identity configured would let anyone who ` +
        'reaches it call every server and the management API. Name your identity provider ' +
        '(--auth-issuer <url>, MCPFLEET_AUTH_ISSUER; see docs/runbooks/connect-your-identity-provider.md), ' +
        'listen on loopback (--host 127.0.0.1), or, knowing what it means, pass --insecure-no-auth.',
    );
  return {
    open: true,
    warning: `--insecure-no-auth: listening on ${host} with nobody authenticated; anyone who reaches it may call every server and the management API`,
  };
}
