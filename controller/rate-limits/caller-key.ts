// Whose budget a request spends: an authenticated caller's principal (the same key on every
// replica and whatever address it calls from), or, for an anonymous caller (an open gate), its
// address — the one thing such a caller cannot pick per request (sessions/client-key.ts, which
// also honours MCPFLEET_CLIENT_HEADER behind a proxy).
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../auth/principal.ts';
import { clientKeyOf } from '../sessions/client-key.ts';

export function callerKeyOf(principal: Principal, req: IncomingMessage): string {
  return principal.kind === 'anonymous' ? `address:${clientKeyOf(req)}` : principal.id;
}
