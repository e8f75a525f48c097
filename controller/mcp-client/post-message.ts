// The controller as an MCP client of its own backends, at the HTTP level: POST one JSON-RPC
// message (optionally in a session) and find its answer in a JSON or SSE reply. The health
// probe and the session replay (sessions/session-replay.ts) both speak through it.
import { LATEST_PROTOCOL_VERSION } from '../bridge/stdio-bridge.ts';

export interface RpcReply {
  result?: unknown;
  error?: { code?: number; message?: string };
}

export interface PostOptions {
  headers?: Record<string, string>;
  sessionId?: string | undefined;
  /** MCP-Protocol-Version to send; default the newest this controller speaks. */
  protocolVersion?: string | undefined;
  signal: AbortSignal;
}

/** POSTs one message to an MCP endpoint; the caller reads (or cancels) the body. */
export function postMessage(
  url: string,
  message: unknown,
  options: PostOptions,
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      ...options.headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': options.protocolVersion ?? LATEST_PROTOCOL_VERSION,
      ...(options.sessionId ? { 'mcp-session-id': options.sessionId } : {}),
    },
    body: JSON.stringify(message),
    signal: options.signal,
  });
}

/** Ends a backend session (DELETE); best effort: a backend that forgot it answers 404. */
export async function deleteSession(
  url: string,
  headers: Record<string, string>,
  sessionId: string,
  timeoutMs = 2000,
): Promise<void> {
  await fetch(url, {
    method: 'DELETE',
    headers: { ...headers, 'mcp-session-id': sessionId },
    signal: AbortSignal.timeout(timeoutMs),
  })
    .then((res) => res.body?.cancel())
    .catch(() => {});
}

/** The JSON-RPC response with `id` in a JSON or SSE body. */
export function findReply(
  text: string,
  contentType: string,
  id: number | string,
): RpcReply | undefined {
  const candidates: string[] = contentType.includes('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
    : [text];
  for (const candidate of candidates) {
    try {
      const parsed = JSON.parse(candidate) as unknown;
      const items = Array.isArray(parsed) ? parsed : [parsed];
      for (const item of items as (RpcReply & { id?: unknown })[]) {
        if (item && item.id === id) return item;
      }
    } catch {
      /* not JSON: keep looking */
    }
  }
  return undefined;
}

/** Nothing answered at all (refused, reset): the process is not there (yet). */
export function isConnectionError(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  return ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'UND_ERR_SOCKET'].includes(
    cause?.code ?? '',
  );
}
