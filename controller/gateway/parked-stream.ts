// A client's GET stream held open by the gateway while its session has no backend (the
// server sleeps): opened at once, kept alive with SSE comments, handed to the backend's
// stream when the session is bound again, or ended cleanly so the client reconnects.
import type { ServerResponse } from 'node:http';

/** SSE comments every so often keep load balancers from closing a quiet parked stream. */
export const PARKED_KEEPALIVE_MS = 25_000;

/** A client's GET stream held open by the gateway while its session has no backend. */
export class ParkedStream {
  private readonly res: ServerResponse;
  private readonly timer: NodeJS.Timeout;

  constructor(res: ServerResponse, sessionId: string, requestId: string) {
    this.res = res;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'mcp-session-id': sessionId,
      'x-request-id': requestId,
    });
    res.write(': the server sleeps; events resume when it wakes\n\n');
    this.timer = setInterval(() => res.write(': keepalive\n\n'), PARKED_KEEPALIVE_MS);
    this.timer.unref();
    res.once('close', () => clearInterval(this.timer));
  }

  /** The backend's stream takes over. */
  attached(): void {
    clearInterval(this.timer);
  }

  /** Ends the stream cleanly: the client reconnects when it wants to. */
  end(): void {
    clearInterval(this.timer);
    if (!this.res.writableEnded) this.res.end();
  }
}
