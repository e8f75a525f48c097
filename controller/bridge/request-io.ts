// Reading one HTTP request and writing the bridge's error replies: the header lookup, the
// bounded body read and the JSON-RPC error body every refusal is, in one place so each route
// answers alike (status, content type, Retry-After on a 503 worth retrying).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SERVER_UNAVAILABLE, errorResponse, type JsonRpcId } from './jsonrpc.ts';

const RETRY_AFTER_SECONDS = 1;

/** The first value of request header `name` (lower case). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function sendError(
  res: ServerResponse,
  status: number,
  id: JsonRpcId | null,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = errorResponse(id, code, message);
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
}

/** 503 with Retry-After: no process for the request now (or the bridge is closing). */
export function sendUnavailable(res: ServerResponse, id: JsonRpcId | null, message: string): void {
  sendError(res, 503, id, SERVER_UNAVAILABLE, message, {
    'retry-after': String(RETRY_AFTER_SECONDS),
  });
}

/** The whole body as text, or undefined when it exceeds `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.once('end', () =>
      resolve(
        over
          ? undefined
          : chunks.length === 1
            ? chunks[0]!.toString('utf8')
            : Buffer.concat(chunks).toString('utf8'),
      ),
    );
    req.once('error', reject);
  });
}
