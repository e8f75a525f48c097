// The answer to a request that never became one (node:http's 'clientError'): headers too
// large → 431, headers that did not complete in time (a silent socket included) → 408,
// anything else malformed → 400. A proper HTTP response with a JSON body — JSON-RPC when the
// request line names an MCP endpoint (node:http hands over the bytes it failed on, never any
// for a timeout, so a timed-out request gets the API's error shape) — and then the socket is
// destroyed:
// ending it politely would keep its descriptor until the client closes, which a greedy
// client never does.
import { STATUS_CODES, maxHeaderSize } from 'node:http';
import type { Duplex } from 'node:stream';
import { SERVER_ERROR, jsonRpcErrorBody } from '../gateway/jsonrpc.ts';
import { MCP_PATH, pathOf } from '../gateway/mcp-path.ts';
import type { LimitEvent } from './limit-report.ts';

interface ClientErrorKind {
  status: number;
  event: LimitEvent;
  code: string;
  message: string;
}

/** The client went away mid-request: there is nobody to answer. */
const CLIENT_LEFT = new Set(['ECONNRESET', 'EPIPE', 'HPE_INVALID_EOF_STATE']);

/** Time for the reply to leave before the socket is destroyed anyway (a client not reading). */
const REPLY_FLUSH_MS = 1_000;

export function classifyClientError(code: string | undefined, inRequest: boolean): ClientErrorKind {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      event: 'headers-too-large',
      code: 'headers-too-large',
      message: `Request headers exceed ${maxHeaderSize} bytes`,
    };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return inRequest
      ? {
          status: 408,
          event: 'body-timeout',
          code: 'request-timeout',
          message: 'The request body did not arrive in time',
        }
      : {
          status: 408,
          event: 'headers-timeout',
          code: 'request-timeout',
          message: 'The request headers did not arrive in time',
        };
  }
  return {
    status: 400,
    event: 'bad-request',
    code: 'bad-request',
    message: 'Malformed HTTP request',
  };
}

/** Whether the bytes node:http could not parse start with a request line for an MCP endpoint. */
export function namesMcpEndpoint(rawPacket: Buffer | undefined): boolean {
  if (!rawPacket) return false;
  const line = rawPacket.subarray(0, 2048).toString('latin1');
  const target = /^[A-Z]+ (\S+) /.exec(line)?.[1];
  return target !== undefined && MCP_PATH.test(pathOf(target));
}

/** The whole response, ready for the wire. */
export function clientErrorResponse(kind: ClientErrorKind, mcp: boolean): string {
  const body = mcp
    ? jsonRpcErrorBody(null, SERVER_ERROR, kind.message, { reason: kind.code })
    : JSON.stringify({ error: { code: kind.code, message: kind.message } });
  return (
    `HTTP/1.1 ${kind.status} ${STATUS_CODES[kind.status]}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/**
 * Answers (unless a response already started on the socket, which a status line would
 * corrupt) and destroys the socket. Returns what happened, for the limit report.
 */
export function replyToClientError(
  err: Error & { code?: string; rawPacket?: Buffer },
  socket: Duplex,
  state: { inRequest: boolean; responseStarted: boolean },
): LimitEvent | undefined {
  if (CLIENT_LEFT.has(err.code ?? '') || !socket.writable) {
    socket.destroy();
    return undefined; // the client left: nothing to answer, nothing it did to us
  }
  const kind = classifyClientError(err.code, state.inRequest);
  if (state.responseStarted) {
    socket.destroy();
    return kind.event;
  }
  const force = setTimeout(() => socket.destroy(), REPLY_FLUSH_MS).unref();
  socket.end(clientErrorResponse(kind, namesMcpEndpoint(err.rawPacket)), () => {
    clearTimeout(force);
    socket.destroy();
  });
  return kind.event;
}
