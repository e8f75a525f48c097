// CORS for browser MCP clients (the Inspector in direct mode, web apps) calling the
// controller. Only requests whose Origin passed the DNS-rebinding check get here, so the
// caller's origin is echoed back, never `*`. The gateway owns these headers: a backend's
// own (server-everything sends `*`) are dropped on the way back (see headers.ts).
import type { ServerResponse } from 'node:http';

/** What a browser may send: the MCP headers plus auth and tracing. */
const ALLOW_HEADERS = [
  'content-type',
  'accept',
  'authorization',
  'mcp-session-id',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'last-event-id',
  'x-request-id',
].join(', ');

/** What a browser script may read: without mcp-session-id a client cannot keep a session. */
const EXPOSE_HEADERS = [
  'mcp-session-id',
  'mcp-protocol-version',
  'x-request-id',
  'retry-after',
  // A browser client follows a 401's challenge to the resource metadata (MCP authorization).
  'www-authenticate',
].join(', ');

/** Marks every response to this request as readable by `origin`. */
export function allowOrigin(res: ServerResponse, origin: string): void {
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
  res.setHeader('vary', 'Origin');
}

/** Answers a preflight (OPTIONS) for a request `allowOrigin` has already marked. */
export function answerPreflight(res: ServerResponse, allowedMethods: string): void {
  res.writeHead(204, {
    'access-control-allow-methods': allowedMethods,
    'access-control-allow-headers': ALLOW_HEADERS,
    'access-control-max-age': '600',
  });
  res.end();
}
