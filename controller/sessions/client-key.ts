// What "one client" is, for the limits that keep a client from taking what others need
// (sessions per client, sessionless processes per client). Until authentication exists it is
// the address the request came from: the one thing a client cannot pick per request. Behind a
// proxy every request comes from the proxy, so a deployment can name a header the proxy sets
// (MCPFLEET_CLIENT_HEADER, e.g. the ingress's X-Real-IP): the key is then the address plus that
// header's value. Only name a header a proxy you trust overwrites — a client reaching the
// gateway directly could set it to anything and pass for many clients.
//
// Authentication (issue 10) swaps clientKeyOf for the principal; nothing else changes.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The environment variable naming the client identity header, if any. */
export const CLIENT_HEADER_VARIABLE = 'MCPFLEET_CLIENT_HEADER';

/**
 * The header the gateway sends its backends with the client's pseudonym, so the stdio bridge
 * gives sessionless requests of different clients different processes. Whatever a client
 * sends under this name is replaced.
 */
export const BRIDGE_CLIENT_HEADER = 'mcpfleet-client';

export function clientKeyOf(request: IncomingMessage): string {
  const address = normalizeAddress(request.socket.remoteAddress);
  const name = process.env[CLIENT_HEADER_VARIABLE]?.trim().toLowerCase();
  if (!name) return address;
  const value = request.headers[name];
  const identity = Array.isArray(value) ? value[0] : value;
  return identity ? `${address} ${identity}` : address;
}

/** The key as backends see it: stable, short, and not the address itself. */
export function clientPseudonym(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 22);
}

/** ::ffff:127.0.0.1 and 127.0.0.1 are the same client. */
function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
