// Who is calling: the one shape every credential turns into (an OAuth access token from the
// identity provider, an API key from `mcpfleet keys`, or nobody on a loopback controller with
// no identity configured), so authorization, rate limits, session binding and the audit log
// read one thing whatever the caller presented.

/** Management API roles, most powerful first: admin ⊃ operator ⊃ viewer. */
export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  /**
   * Stable and unique across kinds: `token:<issuer>#<sub>`, `key:<key id>`, or `anonymous`.
   * Sessions are bound to it; the audit log and rate limits key on it.
   */
  id: string;
  kind: 'token' | 'key' | 'anonymous';
  /** For people: the token's subject (or name/email claim when present); for keys: the key's name. */
  name: string;
  /** Management roles, from the configured token claim or the key's role. */
  roles: Role[];
  /** Group/role claim values of a token (for per-server policy); empty for keys. */
  groups: string[];
  /** OAuth scopes granted (token `scope`/`scp`); empty for keys. */
  scopes: string[];
  /** A key limited to some servers (`--servers a,b`); undefined: no such limit. */
  servers?: string[];
  /** When the credential stops being valid (ms since epoch); undefined: it does not expire. */
  expiresAt?: number;
}

/** The caller when no identity is configured and the controller listens on loopback only. */
export const ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous',
  kind: 'anonymous',
  name: 'anonymous',
  roles: ['admin'],
  groups: [],
  scopes: [],
}) as Principal;

/** How a refusal names the caller: `key "ci-bot"`, `"alice"`, or `an anonymous caller`. */
export function describePrincipal(principal: Principal): string {
  if (principal.kind === 'anonymous') return 'an anonymous caller';
  return principal.kind === 'key' ? `key "${principal.name}"` : `"${principal.name}"`;
}

/** Whether `principal` holds `role` or a stronger one. */
export function hasRole(principal: Principal, role: Role): boolean {
  const needed = ROLES.indexOf(role);
  return principal.roles.some((held) => ROLES.indexOf(held) <= needed);
}

/**
 * A credential checker. `verify` answers for a bearer credential it recognises (`claims` true
 * from `recognises`): a Principal, or a refusal saying why (the 401's error_description).
 * JWT access tokens and API keys are told apart by shape (API keys start with `mcpf_`), so
 * each request is checked by exactly one authenticator.
 */
export interface Authenticator {
  readonly name: string;
  recognises(credential: string): boolean;
  /**
   * `resource`: the canonical URL of the endpoint called (RFC 8707 audience). Rejects with a
   * CredentialCheckUnavailable when what holds the truth about the credential does not answer.
   */
  verify(credential: string, resource: string): Promise<Principal | AuthRefusal>;
}

export interface AuthRefusal {
  refused: true;
  /** RFC 6750 error code: invalid_token (401) or insufficient_scope (403). */
  error: 'invalid_token' | 'insufficient_scope';
  description: string;
}

export function isRefusal(value: Principal | AuthRefusal): value is AuthRefusal {
  return (value as AuthRefusal).refused === true;
}
