// A POST's body as the gateway takes it: read within its size and time limits, and peeked at
// (JSON-RPC shape, methods). Each way it can fail is answered here with its status and a
// JSON-RPC error — 408 (and the connection closed: the rest of a trickled body is not worth
// its descriptor), 413 (the rest drained, not stored), 400 for what is not JSON-RPC — or not
// at all when the client left mid-body.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { SERVER_ERROR, peekMessages, type MessagePeek } from './jsonrpc.ts';
import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError, readBody } from './read-body.ts';
import { sendJsonRpcError } from './respond.ts';

export interface PostBodyLimits {
  maxBodyBytes: number;
  bodyTimeoutMs?: number;
  /** Told of each body that timed out (the connection limits' report). */
  onBodyTimeout?: () => void;
}

/** The body and its peek, or undefined when the request was answered (or the client left). */
export async function readPostBody(
  req: IncomingMessage,
  res: ServerResponse,
  limits: PostBodyLimits,
  headers: OutgoingHttpHeaders,
): Promise<{ body: Buffer; peek: MessagePeek } | undefined> {
  let body: Buffer;
  try {
    body = await readBody(req, limits.maxBodyBytes, limits.bodyTimeoutMs);
  } catch (err) {
    if (err instanceof BodyTimeoutError) {
      limits.onBodyTimeout?.();
      res.once('finish', () => req.socket.destroy());
      sendJsonRpcError(res, 408, null, SERVER_ERROR, err.message, {
        ...headers,
        connection: 'close',
      });
    } else if (err instanceof BodyTooLargeError) {
      req.resume();
      sendJsonRpcError(res, 413, null, SERVER_ERROR, err.message, {
        ...headers,
        connection: 'close',
      });
    } else if (!(err instanceof BodyAbortedError)) {
      throw err;
    }
    return undefined;
  }
  const result = peekMessages(body);
  if (!result.ok) {
    sendJsonRpcError(res, 400, result.id, result.code, result.message, headers);
    return undefined;
  }
  return { body, peek: result.peek };
}
