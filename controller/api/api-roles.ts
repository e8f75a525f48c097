// Which management role each API route needs: viewer reads, operator also wakes and sleeps,
// admin also manages keys (auth/principal.ts ranks them). Refusals are 403 with the API's
// JSON error naming the role needed, so a person knows which credential to ask for.
import type { ServerResponse } from 'node:http';
import { hasRole, type Principal, type Role } from '../auth/principal.ts';
import { sendApiError } from './send-json.ts';

/** `parts`: the path under /api/v1/, split on "/". */
export function roleNeeded(parts: readonly string[], method: string): Role {
  if (parts[0] === 'keys') return 'admin';
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
  if (!hasRole(principal, role)) {
    const held = principal.roles.length > 0 ? principal.roles.join(', ') : 'no role';
    sendApiError(
      res,
      403,
      'forbidden',
      `This needs the ${role} role; ${describe(principal)} has ${held}`,
    );
    return false;
  }
  if (server !== undefined && principal.servers && !principal.servers.includes(server)) {
    sendApiError(
      res,
      403,
      'forbidden',
      `${describe(principal)} is limited to ${principal.servers.join(', ') || 'no servers'}, ` +
        `not "${server}"`,
    );
    return false;
  }
  return true;
}

function describe(principal: Principal): string {
  return principal.kind === 'key' ? `key "${principal.name}"` : `"${principal.name}"`;
}
