// `mcpfleet:auth`: who may call the deployed controller (issue 10). The controller always checks
// credentials: API keys are on in every stack (the program generates their key-hashing secret),
// and the issuers named here add their OAuth access tokens. Each value is checked with the
// controller's own rules (auth-settings.ts), so what `pulumi preview` accepts, the pod accepts
// at start. `insecureNoAuth` is the one way to an open controller, and must be written out.
import path from 'node:path';
import { z } from 'zod';
import { checkIssuer, parseRoleMap } from '../controller/auth/auth-settings.ts';
import { ROLES, type Role } from '../controller/auth/principal.ts';

const nonEmpty = z.string({ error: 'expected a non-empty string' }).min(1, {
  error: 'expected a non-empty string',
});

const issuer = z.string({ error: 'expected an issuer URL' }).transform((text, ctx) => {
  try {
    return checkIssuer(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** RFC 6749 scope-token, without the comma that separates them in MCPFLEET_AUTH_SCOPE. */
const scope = z.string().regex(/^[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+$/, {
  error: 'expected an OAuth scope such as "mcp:tools" (no spaces, quotes, backslashes or commas)',
});

export type RoleMap = Partial<Record<Role, string[]>>;

/** The role map as MCPFLEET_ROLE_MAP / --role-map takes it: admin=a,operator=b,operator=c. */
export function serializeRoleMap(map: RoleMap): string {
  return ROLES.flatMap((role) => (map[role] ?? []).map((group) => `${role}=${group}`)).join(',');
}

function roundTrips(role: Role, group: string): boolean {
  try {
    const back = parseRoleMap(serializeRoleMap({ [role]: [group] }))[role];
    return back?.length === 1 && back[0] === group;
  } catch {
    return false;
  }
}

const roleMap = z
  .record(z.string(), z.array(nonEmpty).min(1, { error: 'expected at least one group' }))
  .superRefine((map, ctx) => {
    for (const [role, groups] of Object.entries(map)) {
      if (!(ROLES as readonly string[]).includes(role)) {
        ctx.addIssue({
          code: 'custom',
          path: [role],
          message: `unknown role "${role}": the roles are ${ROLES.join(', ')} (e.g. roleMap: { admin: [platform-admins], operator: [sre] })`,
        });
        continue;
      }
      // The controller reads the map back from one comma-separated variable: a group that
      // would not come back as written (a comma, surrounding spaces) is refused here.
      groups.forEach((group, index) => {
        if (!roundTrips(role as Role, group))
          ctx.addIssue({
            code: 'custom',
            path: [role, index],
            message: `"${group}" cannot reach the controller as written (MCPFLEET_ROLE_MAP separates entries with ","; no commas or surrounding spaces)`,
          });
      });
    }
  });

/**
 * The file's name becomes a ConfigMap key and the mounted file's name, and names the file's
 * rules in decisions (`<file name>:<line>`), so it must be one a ConfigMap key may be.
 */
const policyFile = nonEmpty.refine((file) => /^[-._a-zA-Z0-9]+$/.test(path.basename(file)), {
  error:
    'the file\'s name may hold only letters, digits, ".", "-" and "_" (it becomes a ConfigMap key and the name of the mounted file)',
});

const NEEDS_ISSUER =
  'applies to access tokens, but mcpfleet:auth.issuers names no issuer, so none is accepted: name the issuer (pulumi config set --path "mcpfleet:auth.issuers[0]" https://…) or remove this key';

const authFields = z.strictObject({
  /** Issuers whose JWT access tokens are accepted (MCPFLEET_AUTH_ISSUER). */
  issuers: z.array(issuer).default([]),
  /** A fixed audience instead of the resource URL (MCPFLEET_AUTH_AUDIENCE). */
  audience: nonEmpty.optional(),
  /** The token claim holding groups/roles (MCPFLEET_ROLE_CLAIM). */
  roleClaim: nonEmpty.default('groups'),
  /** Role → the claim values granting it (MCPFLEET_ROLE_MAP). */
  roleMap: roleMap.default({}),
  /** Scopes every token needs on the MCP endpoints (MCPFLEET_AUTH_SCOPE). */
  requiredScopes: z.array(scope).default([]),
  /**
   * A platform-wide Cedar policy file, relative to the Pulumi project: checked by Cedar at
   * preview, mounted from a ConfigMap, named by MCPFLEET_POLICY_FILE (infra/platform-policy.ts).
   */
  policyFile: policyFile.optional(),
  /**
   * Bump to generate a new key-hashing secret: every API key stops working at once (the
   * emergency brake of docs/runbooks/issue-and-rotate-api-keys.md).
   */
  keyHashingSecretRotation: z
    .number({ error: 'expected a non-negative integer' })
    .int({ error: 'expected a non-negative integer' })
    .nonnegative({ error: 'expected a non-negative integer' })
    .default(0),
  /**
   * DANGEROUS: run the controller with nobody authenticated (no keys, no tokens); anyone who
   * reaches it may call every server and the management API.
   */
  insecureNoAuth: z.boolean({ error: 'expected true or false' }).default(false),
});

/** The keys of mcpfleet:auth (docs/runbooks/connect-your-identity-provider.md lists each). */
export const AUTH_KEYS = Object.keys(authFields.shape);

export const authConfig = authFields
  .superRefine((auth, ctx) => {
    if (auth.insecureNoAuth && auth.issuers.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['insecureNoAuth'],
        message:
          'true opens the controller to everyone, yet issuers are named: remove insecureNoAuth (pulumi config rm --path mcpfleet:auth.insecureNoAuth)',
      });
    if (auth.issuers.length > 0) return;
    if (auth.audience !== undefined)
      ctx.addIssue({ code: 'custom', path: ['audience'], message: NEEDS_ISSUER });
    if (Object.keys(auth.roleMap).length > 0)
      ctx.addIssue({ code: 'custom', path: ['roleMap'], message: NEEDS_ISSUER });
    if (auth.requiredScopes.length > 0)
      ctx.addIssue({ code: 'custom', path: ['requiredScopes'], message: NEEDS_ISSUER });
  })
  .prefault({});

export type AuthConfig = z.infer<typeof authConfig>;
