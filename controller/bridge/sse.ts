// Server-sent events as the bridge writes them: one place for the stream's head and for
// the frame of one JSON-RPC message (with its id, when the stream is resumable).
import type { ServerResponse } from 'node:http';

/** Sends the head of an SSE response now, so the client sees the stream open. */
export function openEventStream(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  res.flushHeaders();
}

/** One message as an SSE event; `id` lets the client resume after it (Last-Event-ID). */
export function messageEvent(raw: string, id?: string): string {
  return id === undefined
    ? `event: message\ndata: ${raw}\n\n`
    : `id: ${id}\nevent: message\ndata: ${raw}\n\n`;
}
