// The proxying itself: one request sent upstream through its pool, its response relayed to
// the client as it arrives. Built on undici's dispatch handler API rather than
// `pool.request()`: no Readable stream and no promise per chunk sit between the two
// sockets, which is most of a proxy's CPU on this path. Chunks are written the moment they
// arrive (no aggregation), so SSE events reach the client one by one; backpressure pauses
// the upstream socket instead of buffering.
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { errors, type Dispatcher } from 'undici';
import type { BodyRewriter } from '../eras/message-rewrite.ts';
import { jsonRpcErrorBody, SERVER_ERROR } from './jsonrpc.ts';
import { isEventStream } from './headers.ts';
import { SseKeepalive, SSE_KEEPALIVE_MS } from './sse-keepalive.ts';
import type { UpstreamTarget } from './upstream-pools.ts';

/** The upstream could not be reached or did not answer in time. */
export class UpstreamError extends Error {
  readonly status: 502 | 504;
  constructor(status: 502 | 504, message: string) {
    super(message);
    this.name = 'UpstreamError';
    this.status = status;
  }
}

export interface UpstreamCall {
  method: 'POST' | 'GET' | 'DELETE';
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | undefined;
}

export interface UpstreamHead {
  statusCode: number;
  headers: IncomingHttpHeaders;
}

/** How relayTo() writes the client's response. */
export interface RelayOptions {
  /** Send the head at once (a standalone GET stream), not with the first bytes. */
  flushHeaders?: boolean;
  /** Era translation: changes the messages on the way; the length is then unknown. */
  rewriter?: BodyRewriter;
  /** Quiet time before an SSE keep-alive comment (default SSE_KEEPALIVE_MS). */
  keepaliveMs?: number;
  /**
   * The one request an SSE reply answers: should its server be taken away before the answer
   * came (a shutdown past its grace, a sleep, a crash), the stream ends with this JSON-RPC
   * error for it rather than with no answer at all, which a client would wait on.
   */
  unanswered?: { id: string | number; message: string };
}

/** Where the body goes once someone takes it; `data` returns false to apply backpressure. */
interface BodySink {
  data(chunk: Buffer): boolean;
  end(): void;
  error(err: Error): void;
}

/**
 * One proxied request. `head` resolves with the upstream's status and headers (the body
 * still streaming) or rejects with UpstreamError, or with undici's RequestAbortedError after
 * abort() (the caller knows which side left). The body is then taken exactly once, by
 * relayTo() or readSmall(); chunks that arrive before that are kept in order.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly head: Promise<UpstreamHead>;
  #resolveHead!: (head: UpstreamHead) => void;
  #rejectHead!: (err: Error) => void;
  #headSettled = false;
  #controller: Dispatcher.DispatchController | undefined;
  #abortRequested = false;
  #sink: BodySink | undefined;
  /** Body events that arrived before the sink was attached. */
  #early: Buffer[] = [];
  #ended = false;
  #failure: Error | undefined;
  /** readSmall() gave the body back and left the upstream paused for the next taker. */
  #handedBack = false;

  private constructor() {
    this.head = new Promise<UpstreamHead>((resolve, reject) => {
      this.#resolveHead = resolve;
      this.#rejectHead = reject;
    });
  }

  static send(target: UpstreamTarget, call: UpstreamCall): UpstreamExchange {
    const exchange = new UpstreamExchange();
    target.pool.dispatch(
      { path: call.path, method: call.method, headers: call.headers, body: call.body },
      exchange,
    );
    return exchange;
  }

  /** Cancels the call, whatever its stage; idempotent. */
  abort(): void {
    if (this.#abortRequested) return;
    this.#abortRequested = true;
    this.#controller?.abort(new errors.RequestAbortedError());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortRequested) controller.abort(new errors.RequestAbortedError());
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.#headSettled = true;
    this.#resolveHead({ statusCode, headers });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#sink === undefined) this.#early.push(chunk);
    else if (!this.#sink.data(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#sink?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (!this.#headSettled) {
      this.#headSettled = true;
      this.#rejectHead(asUpstreamError(err));
      return;
    }
    this.#failure = err;
    this.#sink?.error(err);
  }

  /**
   * Streams the body to `res` under `headers`. When `leaseSignal` has fired (the server is
   * going to sleep) the client response ends cleanly; any other failure mid-body destroys
   * the client connection so the client sees an error rather than a truncated success.
   * A response whose head was already sent (a parked stream) gets the body only. An SSE
   * body gets keep-alive comments while it is quiet, so load balancers do not cut it.
   */
  relayTo(
    res: ServerResponse,
    statusCode: number,
    headers: OutgoingHttpHeaders,
    leaseSignal: AbortSignal,
    options: RelayOptions = {},
  ): void {
    const { rewriter } = options;
    if (rewriter) delete headers['content-length'];
    if (!res.headersSent) {
      res.writeHead(statusCode, headers);
      // A standalone GET stream must show its headers now (clients wait for them to consider
      // the stream open); POST replies send theirs with the first bytes, saving a packet.
      if (options.flushHeaders) res.flushHeaders();
    }
    const keepalive =
      statusCode >= 200 && statusCode < 300 && isEventStream(headers['content-type'])
        ? new SseKeepalive(res, options.keepaliveMs ?? SSE_KEEPALIVE_MS)
        : undefined;
    let awaitingDrain = false;
    const resume = (): void => {
      awaitingDrain = false;
      this.#controller?.resume();
    };
    this.#attach({
      data: (chunk) => {
        const out = rewriter ? rewriter.data(chunk) : chunk;
        if (out === undefined) return true;
        keepalive?.wrote(out);
        if (res.write(out)) return true;
        if (!awaitingDrain) {
          awaitingDrain = true;
          res.once('drain', resume);
        }
        return false;
      },
      end: () => {
        keepalive?.stop();
        const tail = rewriter?.end();
        if (tail !== undefined) res.write(tail);
        res.end();
      },
      error: () => {
        keepalive?.stop();
        if (res.destroyed) return;
        if (!leaseSignal.aborted) {
          res.destroy();
          return;
        }
        const { unanswered } = options;
        if (keepalive && unanswered)
          res.write(
            `event: message\ndata: ${jsonRpcErrorBody(unanswered.id, SERVER_ERROR, unanswered.message)}\n\n`,
          );
        res.end();
      },
    });
  }

  /**
   * The whole body when it is at most `limit` bytes. Larger: 'too-large', and the body is
   * kept (what was read and what follows) for relayTo(), so nothing is lost. undefined when
   * the upstream failed mid-body.
   */
  readSmall(limit: number): Promise<Buffer | 'too-large' | undefined> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let handedBack = false;
      this.#attach({
        data: (chunk) => {
          if (handedBack) {
            this.#early.push(chunk); // still replaying what came before we were attached
            return false;
          }
          size += chunk.length;
          if (size <= limit) {
            chunks.push(chunk);
            return true;
          }
          // Hand the body back: later chunks queue up (paused) until relayTo() takes them.
          handedBack = true;
          this.#handedBack = true;
          this.#sink = undefined;
          this.#early = [...chunks, chunk];
          resolve('too-large');
          return false;
        },
        end: () => resolve(Buffer.concat(chunks, size)),
        error: () => resolve(undefined),
      });
    });
  }

  #attach(sink: BodySink): void {
    if (this.#sink !== undefined) throw new Error('the upstream body was already taken');
    this.#sink = sink;
    const early = this.#early;
    this.#early = [];
    let flowing = true;
    for (const chunk of early) flowing = sink.data(chunk) && flowing;
    if (!flowing) this.#controller?.pause();
    else if (this.#handedBack && this.#sink === sink) {
      this.#handedBack = false;
      this.#controller?.resume();
    }
    if (this.#failure !== undefined) sink.error(this.#failure);
    else if (this.#ended) sink.end();
  }
}

function asUpstreamError(err: Error): Error {
  if (err instanceof errors.RequestAbortedError) return err;
  if (err instanceof errors.HeadersTimeoutError) {
    return new UpstreamError(504, 'Upstream server did not answer in time');
  }
  const code = (err as { code?: string }).code ?? '';
  return new UpstreamError(502, `Upstream server unreachable${code ? ` (${code})` : ''}`);
}
