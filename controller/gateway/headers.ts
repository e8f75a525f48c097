// Which headers cross the proxy. Everything end-to-end passes both ways (MCP-Session-Id,
// MCP-Protocol-Version, Last-Event-ID, Content-Type, Accept, Mcp-Method...); hop-by-hop
// headers (RFC 9110 §7.6.1) and the ones the proxy must own are dropped. The client's
// Authorization never reaches a server (MCP authorization: no token passthrough — the token
// is for the gateway; a server gets its own credentials from its Secrets, `extra` below).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

const NOT_FORWARDED_UPSTREAM = new Set([
  ...HOP_BY_HOP,
  // The upstream has its own authority; undici sets Host from the upstream URL.
  'host',
  // Recomputed from the body the proxy sends.
  'content-length',
  'expect',
  // Identity encoding keeps SSE events flowing one by one (a compressor buffers them).
  'accept-encoding',
  // Validated here; the upstream (often on another loopback port) would judge it foreign.
  'origin',
  'x-request-id',
  // The client's credential is the gateway's to check, never a server's to reuse.
  'authorization',
]);

const NOT_RETURNED = new Set([
  ...HOP_BY_HOP,
  // CORS is the gateway's to answer (cors.ts), for the origin it validated.
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
]);

/** Names listed in a Connection header are hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
}

export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  extra: Record<string, string>,
  requestId: string,
  clientAddress: string | undefined,
): Record<string, string | string[]> {
  const dropped = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || NOT_FORWARDED_UPSTREAM.has(name)) continue;
    if (dropped.length > 0 && dropped.includes(name)) continue;
    out[name] = value;
  }
  // Headers the fleet resolved for this upstream (auth for remotes) win over the client's.
  for (const name in extra) out[name.toLowerCase()] = extra[name]!;
  out['x-request-id'] = requestId;
  if (clientAddress) {
    const prior = incoming['x-forwarded-for'];
    out['x-forwarded-for'] = prior ? `${String(prior)}, ${clientAddress}` : clientAddress;
  }
  return out;
}

export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  requestId: string,
): OutgoingHttpHeaders {
  const dropped = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || NOT_RETURNED.has(name)) continue;
    if (dropped.length > 0 && dropped.includes(name)) continue;
    out[name] = value;
  }
  out['x-request-id'] = requestId;
  if (isEventStream(upstream['content-type'])) {
    // Ask any reverse proxy in front of us (nginx & co.) not to buffer the stream either.
    out['x-accel-buffering'] = 'no';
    out['cache-control'] ??= 'no-cache';
  }
  return out;
}

/** True for a response head that opens an SSE stream. */
export function isEventStream(contentType: unknown): boolean {
  return typeof contentType === 'string' && contentType.startsWith('text/event-stream');
}
