// What the operator configured about identity (`mcpfleet serve --auth-*`): which issuers'
// access tokens are accepted, how their claims become roles, the scopes a token needs, and
// whether an open controller was asked for on purpose (--insecure-no-auth).
import { ROLES, type Role } from './principal.ts';

export interface AuthSettings {
  /** Issuer URLs whose JWT access tokens are accepted (their metadata names the JWKS). */
  issuers: string[];
  /**
   * Overrides the audience a token must carry (default: the resource, i.e. the endpoint's
   * canonical URL, or the gateway's). For an IdP that stamps one fixed API identifier.
   */
  audience?: string;
  /** The claim holding a token's groups/roles (default `groups`). */
  roleClaim: string;
  /** Role → the claim values that grant it. */
  roleMap: Partial<Record<Role, string[]>>;
  /** Scopes every token needs on the MCP endpoints (advertised in the metadata and 401s). */
  requiredScopes: string[];
  /** Listen beyond loopback with nobody authenticated (logged, and shown in /readyz). */
  insecureNoAuth: boolean;
  /** Allowed clock difference for exp/nbf, seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Least time between two JWKS fetches on an unknown key id (default 30 s; tests: less). */
  jwksCooldownMs?: number;
}

export const DEFAULT_ROLE_CLAIM = 'groups';
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

export function defaultAuthSettings(): AuthSettings {
  return {
    issuers: [],
    roleClaim: DEFAULT_ROLE_CLAIM,
    roleMap: {},
    requiredScopes: [],
    insecureNoAuth: false,
  };
}

/**
 * `admin=platform-admins,operator=sre,operator=oncall` → { admin: [...], operator: [...] }.
 * A role may be named more than once; an unknown role or a missing value is an error.
 */
export function parseRoleMap(text: string): Partial<Record<Role, string[]>> {
  const map: Partial<Record<Role, string[]>> = {};
  for (const entry of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    const role = (eq === -1 ? entry : entry.slice(0, eq)).trim();
    const value = eq === -1 ? '' : entry.slice(eq + 1).trim();
    if (!(ROLES as readonly string[]).includes(role))
      throw new Error(
        `"${entry}": the role must be one of ${ROLES.join(', ')}, as in admin=platform-admins`,
      );
    if (!value)
      throw new Error(`"${entry}": name the group that grants ${role}, as in ${role}=my-group`);
    (map[role as Role] ??= []).push(value);
  }
  return map;
}

/** An issuer is an https URL (http only for loopback, e.g. a test provider). */
export function checkIssuer(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`"${text}" is not an issuer URL, e.g. https://login.example.com/realms/main`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new Error(`issuer "${text}" must be https (http only on loopback)`);
  if (url.search || url.hash) throw new Error(`issuer "${text}" must have no query or fragment`);
  return text.replace(/\/+$/, '');
}
