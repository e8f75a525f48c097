// The API's follow streams (?follow=true): text/event-stream responses that stay open, one
// JSON value per `data:` line, with a keepalive comment so proxies and the CLI can tell a
// quiet stream from a dead one. The API keeps them so closing the controller ends them at
// once, before the store they read from closes, instead of waiting out the HTTP grace.
import type { ServerResponse } from 'node:http';
import { openEventStream } from '../bridge/sse.ts';

export const KEEPALIVE_MS = 15_000;
/** A client this far behind (bytes queued for it) is cut off rather than buffered for. */
const MAX_QUEUED_BYTES = 1024 * 1024;

export interface FollowStream {
  /** One SSE event: `event: <event>` and its value as JSON; `id` lets a reader resume. */
  send(event: string, value: unknown, id?: number): void;
  /** Called once when the stream ends, however it ends (the client left, close()). */
  onEnd(cleanup: () => void): void;
  readonly ended: boolean;
  end(): void;
}

export class FollowStreams {
  readonly #open = new Set<FollowStream>();
  readonly #keepaliveMs: number;

  constructor(keepaliveMs = KEEPALIVE_MS) {
    this.#keepaliveMs = keepaliveMs;
  }

  /** Answers with an event stream that stays open until the client or close() ends it. */
  open(res: ServerResponse): FollowStream {
    openEventStream(res, { 'x-accel-buffering': 'no' });
    const cleanups: Array<() => void> = [];
    let ended = false;
    const keepalive = setInterval(() => write(': keepalive\n\n'), this.#keepaliveMs);
    keepalive.unref();
    const finish = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(keepalive);
      this.#open.delete(stream);
      for (const cleanup of cleanups.splice(0)) cleanup();
      if (!res.writableEnded) res.end();
    };
    const write = (text: string): void => {
      if (ended) return;
      if (res.writableLength > MAX_QUEUED_BYTES) {
        res.destroy();
        finish();
        return;
      }
      res.write(text);
    };
    const stream: FollowStream = {
      send(event, value, id) {
        write(
          `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(value)}\n\n`,
        );
      },
      onEnd(cleanup) {
        if (ended) cleanup();
        else cleanups.push(cleanup);
      },
      get ended() {
        return ended;
      },
      end: finish,
    };
    // The response's close: the client went away, or the stream was ended (the request's
    // own close says only that its body was read).
    res.once('close', finish);
    this.#open.add(stream);
    return stream;
  }

  /** Ends every open stream (the controller is closing). */
  closeAll(): void {
    for (const stream of [...this.#open]) stream.end();
  }
}
