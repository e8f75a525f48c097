// Keep-alive comments on SSE streams the gateway relays or holds. Load balancers close a
// connection that carries no bytes for their idle timeout (an ALB: 60 s by default), and a
// quiet SSE stream — a GET stream with no notifications, a long tools/call with no progress —
// is exactly that. An SSE comment line (`: …`) is ignored by every client, so the gateway
// writes one whenever the stream has been quiet for the interval. It only ever writes one
// between events: a comment inside an event that arrived half-way would corrupt it.
import type { ServerResponse } from 'node:http';

/** Quiet time before a keep-alive comment; well below the ALB's 60 s default idle timeout. */
export const SSE_KEEPALIVE_MS = 25_000;

const KEEPALIVE = ': keepalive\n\n';
/** How much of the stream's tail decides whether it stands between two events. */
const TAIL_BYTES = 4;

/**
 * Whether `tail` (the last bytes written) ends an event: a line ending followed by an empty
 * line, with CRLF, LF or CR line endings (WHATWG SSE). A lone trailing CR is not an end: its
 * LF may be in the next chunk.
 */
export function endsEvent(tail: string): boolean {
  return (
    tail.endsWith('\n\n') ||
    tail.endsWith('\r\n\r\n') ||
    tail.endsWith('\n\r\n') ||
    tail.endsWith('\r\r\n') ||
    tail.endsWith('\r\r')
  );
}

/** Writes a keep-alive comment to `res` after each `intervalMs` of quiet, between events. */
export class SseKeepalive {
  readonly #res: ServerResponse;
  readonly #timer: NodeJS.Timeout;
  /** The last bytes written (latin1: one char per byte), to find event boundaries. */
  #tail = '\n\n';

  constructor(res: ServerResponse, intervalMs: number) {
    this.#res = res;
    this.#timer = setTimeout(() => this.#beat(), intervalMs);
    this.#timer.unref();
    res.once('close', () => this.stop());
  }

  /** Records bytes about to be written to the stream: the quiet time starts again. */
  wrote(chunk: Buffer | string): void {
    const text =
      typeof chunk === 'string'
        ? chunk
        : chunk.toString('latin1', Math.max(0, chunk.length - TAIL_BYTES));
    this.#tail = (this.#tail + text).slice(-TAIL_BYTES);
    this.#timer.refresh();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #beat(): void {
    if (this.#res.writableEnded || this.#res.destroyed) return;
    // Mid-event (the upstream paused inside one): wait for its end rather than corrupt it.
    if (endsEvent(this.#tail)) this.#res.write(KEEPALIVE);
    this.#timer.refresh();
  }
}
