// Replies the gateway writes itself (refusals and errors): always a JSON-RPC error body,
// never a stack trace, with the request id echoed.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { FleetError } from '../fleet/fleet.ts';
import { SERVER_ERROR, SESSION_NOT_FOUND, jsonRpcErrorBody, type JsonRpcId } from './jsonrpc.ts';

export function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  id: JsonRpcId,
  code: number,
  message: string,
  extraHeaders: OutgoingHttpHeaders = {},
  data?: Record<string, unknown>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJsonBody(res, status, jsonRpcErrorBody(id, code, message, data), extraHeaders);
}

/** A JSON body the gateway made (a JSON-RPC message or batch of them), with its length. */
export function sendJsonBody(
  res: ServerResponse,
  status: number,
  body: string,
  extraHeaders: OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, {
    ...extraHeaders,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * FleetError → HTTP: 404 unknown server (or session), 429 a client's session limit, 503
 * overloaded (with Retry-After) / failed / unavailable, 504 wake timeout. The message (e.g. why a
 * server failed, or the limit a refusal names) reaches the client.
 */
export function sendFleetError(res: ServerResponse, err: FleetError, id: JsonRpcId): void {
  const headers: OutgoingHttpHeaders = {};
  if (err.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(Math.max(0, Math.ceil(err.retryAfterSeconds)));
  }
  // A session the fleet knows is gone (e.g. its server slept) gets the code MCP clients
  // recognise as "re-initialize".
  const code = err.code === 'unknown-session' ? SESSION_NOT_FOUND : SERVER_ERROR;
  sendJsonRpcError(res, err.status, id, code, err.message, headers, {
    reason: err.code,
    ...err.data,
  });
}
