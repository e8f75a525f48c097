// A client's GET stream held open by the gateway while its session has no backend (the
// server sleeps): opened at once, kept alive with SSE comments (sse-keepalive.ts), handed to the backend's
// stream when the session is bound again, or ended cleanly so the client reconnects.
import type { ServerResponse } from 'node:http';
import { SseKeepalive, SSE_KEEPALIVE_MS } from './sse-keepalive.ts';

/** A client's GET stream held open by the gateway while its session has no backend. */
export class ParkedStream {
  private readonly res: ServerResponse;
  private readonly keepalive: SseKeepalive;

  constructor(
    res: ServerResponse,
    sessionId: string,
    requestId: string,
    keepaliveMs = SSE_KEEPALIVE_MS,
  ) {
    this.res = res;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'mcp-session-id': sessionId,
      'x-request-id': requestId,
    });
    res.write(': the server sleeps; events resume when it wakes\n\n');
    this.keepalive = new SseKeepalive(res, keepaliveMs);
  }

  /** The backend's stream takes over. */
  attached(): void {
    this.keepalive.stop();
  }

  /** Ends the stream cleanly: the client reconnects when it wants to. */
  end(): void {
    this.keepalive.stop();
    if (!this.res.writableEnded) this.res.end();
  }
}
