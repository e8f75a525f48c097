// Which management role each API route needs: viewer reads, operator also wakes and sleeps and
// reads the audit log (who called what names people and tools: not for every dashboard), admin
// also manages keys (auth/principal.ts ranks them). Refusals are 403 with the API's JSON error
// naming the role needed, so a person knows which credential to ask for.
import type { ServerResponse } from 'node:http';
import { describePrincipal, hasRole, type Principal, type Role } from '../auth/principal.ts';
import { sendApiError } from './send-json.ts';

/** `parts`: the path under /api/v1/, split on "/". */
export function roleNeeded(parts: readonly string[], method: string): Role {
  if (parts[0] === 'keys') return 'admin';
  if (parts[0] === 'audit') return 'operator';
  // POST is wake/sleep; GET/HEAD read. Anything else is refused later (405), after this.
  return method === 'GET' || method === 'HEAD' ? 'viewer' : 'operator';
}

/** True when `principal` may; otherwise answers 403 and returns false. */
export function permits(
  res: ServerResponse,
  principal: Principal,
  role: Role,
  server?: string,
): boolean {
  const refused = refusal(principal, role, server);
  if (refused !== undefined) sendApiError(res, 403, 'forbidden', refused);
  return refused === undefined;
}

/** Why `principal` may not (the 403's message), or undefined when it may. */
export function refusal(principal: Principal, role: Role, server?: string): string | undefined {
  if (!hasRole(principal, role)) {
    const held = principal.roles.length > 0 ? principal.roles.join(', ') : 'no role';
    return `This needs the ${role} role; ${describePrincipal(principal)} has ${held}`;
  }
  if (server !== undefined && principal.servers && !principal.servers.includes(server)) {
    return (
      `${describePrincipal(principal)} is limited to ${principal.servers.join(', ') || 'no servers'}, ` +
      `not "${server}"`
    );
  }
  return undefined;
}
