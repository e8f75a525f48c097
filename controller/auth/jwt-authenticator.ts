// JWT access tokens of the configured issuers (MCP authorization: the MCP endpoints are OAuth
// resource servers). Each issuer's keys come from the JWKS its metadata names, fetched once
// and again only for a key id not seen (a rotation), at most once per cooldown. A token must
// name a configured issuer, be signed by one of its keys with an asymmetric algorithm, be
// within exp/nbf (with a small clock tolerance), and be for this resource: `aud` names the
// endpoint called or the gateway as a whole (RFC 8707; a token for another server or service
// is refused). Verified tokens are remembered until they expire, so the hot path pays a hash.
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { CredentialCheckUnavailable } from './credential-check-unavailable.ts';
import { discoverIssuer } from './issuer-metadata.ts';
import type { AuthRefusal, Authenticator, Principal, Role } from './principal.ts';
import { ROLES } from './principal.ts';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS, type AuthSettings } from './auth-settings.ts';
import { VerifiedTokens } from './verified-tokens.ts';
import type { Logger } from '../observability/log.ts';

/** Asymmetric only: no `none`, and no HS* (a shared secret would let any holder mint tokens). */
export const ACCEPTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/** A retry of a failed discovery waits this long, so an unreachable IdP is not hammered. */
const DISCOVERY_RETRY_MS = 5_000;

interface IssuerKeys {
  keys?: Promise<KeySet>;
  failedAt?: number;
}

export interface JwtAuthenticatorOptions {
  settings: AuthSettings;
  /** Audiences that also satisfy any resource (the gateway-wide resource). */
  gatewayResource: () => string;
  logger: Logger;
}

export class JwtAuthenticator implements Authenticator {
  readonly name = 'jwt';
  private readonly settings: AuthSettings;
  private readonly issuers = new Map<string, IssuerKeys>();
  private readonly verified = new VerifiedTokens();
  private readonly log: Logger;

  private readonly options: JwtAuthenticatorOptions;

  constructor(options: JwtAuthenticatorOptions) {
    this.options = options;
    this.settings = options.settings;
    this.log = options.logger.child({ component: 'auth' });
    for (const issuer of this.settings.issuers) this.issuers.set(issuer, {});
  }

  /** Fetches every issuer's metadata and keys now, so the first request does not wait. */
  warm(): void {
    for (const issuer of this.issuers.keys())
      this.keysOf(issuer)?.catch((err: unknown) =>
        this.log.warn({ err: (err as Error).message, issuer }, 'issuer keys unavailable for now'),
      );
  }

  /** A JWS compact serialization: three base64url parts (API keys look nothing like it). */
  recognises(credential: string): boolean {
    return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(credential);
  }

  async verify(token: string, resource: string): Promise<Principal | AuthRefusal> {
    const key = VerifiedTokens.keyOf(token);
    const audiences = this.audiencesFor(resource);
    const hit = this.verified.get(key);
    if (hit) {
      return hit.audiences.some((aud) => audiences.includes(aud))
        ? hit.principal
        : refuse(`the token is not for ${resource} (its audience is ${hit.audiences.join(', ')})`);
    }
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      return refuse('the token is not a JWT');
    }
    const issuer = typeof claims.iss === 'string' ? claims.iss.replace(/\/+$/, '') : undefined;
    if (issuer === undefined || !this.issuers.has(issuer))
      return refuse(`the token's issuer ${JSON.stringify(claims.iss ?? null)} is not trusted here`);
    let keys: KeySet;
    try {
      keys = await this.keysOf(issuer)!;
    } catch (err) {
      this.log.warn({ err: (err as Error).message, issuer }, 'cannot verify tokens of this issuer');
      // Not the token's fault: a 503 to retry, as when the API key store is down.
      throw new CredentialCheckUnavailable(`issuer ${issuer}`, err);
    }
    const tolerance = this.settings.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: [issuer, `${issuer}/`],
        audience: audiences,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: tolerance,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      return refuse(describeFailure(err, resource));
    }
    // Accepted as long as jwtVerify would accept it: until exp plus the clock tolerance.
    const validUntil = (payload.exp! + tolerance) * 1000;
    const principal = this.principalOf(issuer, payload, validUntil);
    this.verified.set(key, {
      principal,
      audiences: typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []),
      validUntil,
    });
    return principal;
  }

  private audiencesFor(resource: string): string[] {
    if (this.settings.audience !== undefined) return [this.settings.audience];
    const gateway = this.options.gatewayResource();
    return resource === gateway ? [gateway, `${gateway}/`] : [resource, gateway, `${gateway}/`];
  }

  private keysOf(issuer: string): Promise<KeySet> | undefined {
    const entry = this.issuers.get(issuer);
    if (!entry) return undefined;
    if (
      entry.keys &&
      !(entry.failedAt !== undefined && Date.now() - entry.failedAt > DISCOVERY_RETRY_MS)
    )
      return entry.keys;
    entry.failedAt = undefined;
    entry.keys = discoverIssuer(issuer).then(
      (metadata) =>
        createRemoteJWKSet(new URL(metadata.jwks_uri), {
          ...(this.settings.jwksCooldownMs !== undefined
            ? { cooldownDuration: this.settings.jwksCooldownMs }
            : {}),
        }),
      (err: unknown) => {
        entry.failedAt = Date.now();
        throw err;
      },
    );
    return entry.keys;
  }

  private principalOf(issuer: string, claims: JWTPayload, expiresAt: number): Principal {
    const groups = stringsOf(claims[this.settings.roleClaim]);
    const roles: Role[] = ROLES.filter((role) =>
      (this.settings.roleMap[role] ?? []).some((group) => groups.includes(group)),
    );
    const scopes = stringsOf(claims.scope ?? claims.scp);
    const name = [claims.name, claims.email, claims.preferred_username, claims.sub].find(
      (v): v is string => typeof v === 'string' && v !== '',
    )!;
    return {
      id: `token:${issuer}#${claims.sub}`,
      kind: 'token',
      name,
      roles,
      groups,
      scopes,
      expiresAt,
    };
  }
}

function refuse(description: string): AuthRefusal {
  return { refused: true, error: 'invalid_token', description };
}

/** A claim as a list: an array of strings, or one space-separated string (`scope`). */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function describeFailure(err: unknown, resource: string): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return `the token is not for ${resource}`;
    if (err.claim === 'nbf') return 'the token is not valid yet';
    if (err.claim === 'iss') return "the token's issuer is not trusted here";
    return `the token's ${err.claim} claim is not acceptable: ${err.reason}`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return 'the token is signed with an algorithm not accepted here';
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return "the token's signature does not verify";
  if (err instanceof errors.JWKSNoMatchingKey)
    return 'the token is signed with a key its issuer does not publish';
  if (err instanceof errors.JOSEError) return `the token is not valid (${err.code})`;
  return 'the token is not valid';
}
