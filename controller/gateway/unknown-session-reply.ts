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
 * any other 400 is relayed here as it came. Returns true when the caller should send 404.
 */
export async function answeredUnknownSession(
  upstream: UpstreamHead,
  exchange: UpstreamExchange,
  res: ServerResponse,
  requestId: string,
): Promise<boolean> {
  const length = Number(upstream.headers['content-length']);
  const type = String(upstream.headers['content-type'] ?? '');
  if (!(length <= SESSION_REPLY_LIMIT) || !type.includes('json')) return false;
  const bytes = await exchange.readSmall(SESSION_REPLY_LIMIT);
  if (bytes === undefined) {
    res.destroy(); // the upstream failed mid-body: an error, not a truncated reply
    return false;
  }
  if (/session/i.test(bytes.toString('utf8'))) return true;
  const headers = clientResponseHeaders(upstream.headers, requestId);
  res.writeHead(upstream.statusCode, headers);
  res.end(bytes);
  return false;
}
