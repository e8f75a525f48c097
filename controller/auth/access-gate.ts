// Who may come in: every MCP endpoint and the management API ask for `Authorization: Bearer
// <credential>`, checked by the one authenticator that recognises its shape (a JWT access
// token, an API key). The caller becomes a Principal passed down to the gateway and the API,
// or is turned away with the challenge MCP clients follow to get a token (challenge.ts).
// With no authenticator configured the gate is open: everyone is ANONYMOUS (a loopback
// controller, or --insecure-no-auth).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendChallenge, type Challenge } from './challenge.ts';
import {
  CredentialCheckUnavailable,
  sendCheckUnavailable,
} from './credential-check-unavailable.ts';
import {
  ANONYMOUS,
  isRefusal,
  type AuthRefusal,
  type Authenticator,
  type Principal,
} from './principal.ts';
import type { ResourceUrls } from './resource-urls.ts';

/** What is being called: a server's MCP endpoint (its slug as in the path), or the API. */
export type GateTarget = { surface: 'mcp'; encodedSlug: string; slug: string } | { surface: 'api' };

export interface AccessGateOptions {
  authenticators: readonly Authenticator[];
  urls: ResourceUrls;
  /** Scopes a token needs on the MCP endpoints. */
  requiredScopes?: readonly string[];
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

export class AccessGate {
  private readonly authenticators: readonly Authenticator[];
  private readonly urls: ResourceUrls;
  private readonly scopes: readonly string[];

  constructor(options: AccessGateOptions) {
    this.authenticators = options.authenticators;
    this.urls = options.urls;
    this.scopes = options.requiredScopes ?? [];
  }

  /** Nobody is authenticated: every caller is ANONYMOUS. */
  get open(): boolean {
    return this.authenticators.length === 0;
  }

  /** The RFC 9728 metadata URL of a server's endpoint, for a challenge made past the gate. */
  metadataUrlOf(encodedSlug: string): string {
    return this.urls.metadataUrl(this.urls.endpoint(encodedSlug));
  }

  /**
   * The caller, or undefined when the gate answered the request itself (400, 401, 403, or 503
   * when the credential could not be checked).
   * `search`: the query string, where a credential must never be (it would be logged, and
   * forwarded to the server with the rest of the query).
   */
  async admit(
    req: IncomingMessage,
    res: ServerResponse,
    target: GateTarget,
    search: string,
    requestId: string,
  ): Promise<Principal | undefined> {
    const resource =
      target.surface === 'mcp' ? this.urls.endpoint(target.encodedSlug) : this.urls.gateway();
    const refuse = (challenge: Omit<Challenge, 'resourceMetadata' | 'scopes'>): undefined => {
      sendChallenge(
        res,
        {
          ...challenge,
          resourceMetadata: this.urls.metadataUrl(resource),
          scopes: target.surface === 'mcp' ? this.scopes : [],
        },
        target.surface,
        requestId,
      );
      return undefined;
    };
    if (search.length > 1 && new URLSearchParams(search).has('access_token'))
      return refuse({
        error: 'invalid_request',
        description:
          'a credential in the query string (access_token) is not accepted; send it in the Authorization header',
      });
    if (this.open) return ANONYMOUS;

    const header = req.headers.authorization;
    if (header === undefined || !/^bearer(\s|$)/i.test(header))
      return refuse({
        description: `${resource} needs a bearer token (Authorization: Bearer <token>)`,
      });
    const credential = BEARER.exec(header)?.[1];
    if (credential === undefined)
      return refuse({
        error: 'invalid_request',
        description: 'the Authorization header is not "Bearer <token>"',
      });
    const authenticator = this.authenticators.find((a) => a.recognises(credential));
    if (!authenticator)
      return refuse({
        error: 'invalid_token',
        description: 'the credential is neither an access token nor an API key',
      });
    let verdict: Principal | AuthRefusal;
    try {
      verdict = await authenticator.verify(credential, resource);
    } catch (err) {
      if (!(err instanceof CredentialCheckUnavailable)) throw err;
      sendCheckUnavailable(res, err, target.surface, requestId);
      return undefined;
    }
    if (isRefusal(verdict))
      return refuse({ error: verdict.error, description: verdict.description });
    if (verdict.expiresAt !== undefined && verdict.expiresAt <= Date.now())
      return refuse({ error: 'invalid_token', description: 'the credential has expired' });
    if (target.surface === 'mcp') {
      if (verdict.servers !== undefined && !verdict.servers.includes(target.slug))
        return refuse({
          error: 'insufficient_scope',
          description: `this credential is not for server "${target.slug}"`,
        });
      const missing =
        verdict.kind === 'token' ? this.scopes.filter((s) => !verdict.scopes.includes(s)) : [];
      if (missing.length > 0)
        return refuse({
          error: 'insufficient_scope',
          description: `the token lacks the scope ${missing.join(' ')}`,
        });
    }
    return verdict;
  }
}
