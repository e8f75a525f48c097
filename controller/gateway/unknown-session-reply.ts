// A backend's answer to a session it does not know, normalised: the spec says 404 (clients
// then re-initialize), but some backends answer 400. Only a small JSON 400 that talks about
// the session counts; any other 400 is relayed as it came.
import type { ServerResponse } from 'node:http';
import { clientResponseHeaders } from './headers.ts';
import type { UpstreamExchange, UpstreamHead } from './proxy.ts';

/** A backend's "bad session" reply is small; bigger 400s are relayed untouched. */
export const SESSION_REPLY_LIMIT = 16 * 1024;

/**
 * Some backends (the MCP SDK's Express examples, server-everything) answer an unknown
 * MCP-Session-Id with 400 instead of the 404 the spec requires, which stops clients from
 * re-initializing. A small 400 JSON body that talks about the session is normalised to 404;
 * any other 400 is relayed here as it came. 'lost': the caller sends 404; 'answered': the
 * reply went to the client (or the connection was ended); 'not-ours': relay it as usual.
 */
export async function answeredUnknownSession(
  upstream: UpstreamHead,
  exchange: UpstreamExchange,
  res: ServerResponse,
  requestId: string,
  leaseSignal: AbortSignal,
): Promise<'lost' | 'answered' | 'not-ours'> {
  const length = Number(upstream.headers['content-length']);
  const type = String(upstream.headers['content-type'] ?? '');
  if (!(length <= SESSION_REPLY_LIMIT) || !type.includes('json')) return 'not-ours';
  const bytes = await readSmallReply(upstream, exchange, res, requestId, leaseSignal);
  if (bytes === undefined) return 'answered';
  if (/session/i.test(bytes.toString('utf8'))) return 'lost';
  sendSmallReply(res, upstream, bytes, requestId);
  return 'answered';
}

/**
 * A small upstream reply, read whole so the gateway can look at it. When it is not small
 * after all it is relayed as it streams, and when the upstream failed mid-body the client's
 * connection is destroyed (an error, not a truncated reply): undefined, nothing left to do.
 */
export async function readSmallReply(
  upstream: UpstreamHead,
  exchange: UpstreamExchange,
  res: ServerResponse,
  requestId: string,
  leaseSignal: AbortSignal,
): Promise<Buffer | undefined> {
  const bytes = await exchange.readSmall(SESSION_REPLY_LIMIT);
  if (bytes === 'too-large') {
    const headers = clientResponseHeaders(upstream.headers, requestId);
    exchange.relayTo(res, upstream.statusCode, headers, leaseSignal);
    return undefined;
  }
  if (bytes === undefined) res.destroy();
  return bytes;
}

/** Relays a reply read whole by readSmallReply, as it came. */
export function sendSmallReply(
  res: ServerResponse,
  upstream: UpstreamHead,
  bytes: Buffer,
  requestId: string,
): void {
  res.writeHead(upstream.statusCode, clientResponseHeaders(upstream.headers, requestId));
  res.end(bytes);
}
