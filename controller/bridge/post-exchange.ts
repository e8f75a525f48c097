// The HTTP response to one POST that carried requests. It answers as plain JSON when it
// can (cheapest), and switches to an SSE stream only when a notification related to the
// request (progress, logging) must reach the client before the response, and only if the
// client's Accept allows it.
//
// SSE events carry ids (`p<stream>-<n>`), so the stream can be resumed: when the client's
// connection breaks before the last answer, a resumable exchange is *detached* instead of
// abandoned. It keeps collecting what the server sends, and a GET with Last-Event-ID naming
// this stream (see BridgeSession.attachStream) picks up after the last event the client saw.
// If nobody resumes within the grace period, the exchange is abandoned (requests cancelled).
//
// Events are written under backpressure and a cap (bounded-write.ts): a client that stops
// reading holds the child's output, and a response holding more than its cap unsent gets a
// JSON-RPC error for each request still waiting, and ends.
import type { ServerResponse } from 'node:http';
import { formatByteSize } from '../gateway/byte-size.ts';
import { DEFAULT_MAX_BUFFERED_BYTES, writeBounded, type WriteLimits } from './bounded-write.ts';
import { CLIENT_NOT_READING, errorResponse, type JsonRpcId } from './jsonrpc.ts';
import { messageEvent, openEventStream } from './sse.ts';

/** Events of one stream kept for a resume, at most (oldest dropped first). */
const MAX_RETAINED = 200;
const MAX_RETAINED_BYTES = 1024 * 1024;

export interface PostExchangeOptions {
  res: ServerResponse;
  ids: JsonRpcId[];
  batch: boolean;
  accept: string;
  headers: Record<string, string>;
  /** The stream's number within its session, for event ids; undefined: not resumable. */
  streamNo?: number;
  /** How long a broken SSE stream waits for a resume before it is abandoned (ms). */
  resumeGraceMs?: number;
  /** Backpressure and the cap on what the response may hold unsent (default 4 MiB). */
  limits?: Partial<WriteLimits>;
}

export class PostExchange {
  /** Request ids (as the client sent them) still waiting for a response. */
  readonly waiting: Set<JsonRpcId>;
  readonly streamNo: number | undefined;
  private res: ServerResponse;
  private readonly batch: boolean;
  private readonly acceptsSse: boolean;
  private readonly extraHeaders: Record<string, string>;
  private readonly resumeGraceMs: number;
  private readonly collected: string[] = [];
  private mode: 'pending' | 'sse' | 'detached' | 'done' = 'pending';
  /** SSE events sent (or held while detached), for a resume: [seq, raw]. */
  private retained: Array<[number, string]> = [];
  private retainedBytes = 0;
  private seq = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly limits: WriteLimits;
  /** Ended by the bridge because the client did not read: its requests are abandoned. */
  private cutOff = false;
  onDone: () => void = () => {};

  constructor(options: PostExchangeOptions) {
    this.res = options.res;
    this.waiting = new Set(options.ids);
    this.batch = options.batch;
    this.streamNo = options.streamNo;
    this.resumeGraceMs = options.streamNo === undefined ? 0 : (options.resumeGraceMs ?? 0);
    const accept = options.accept;
    this.acceptsSse = accept.includes('text/event-stream');
    const acceptsJson =
      accept === '' || accept.includes('application/json') || accept.includes('*/*');
    this.extraHeaders = options.headers;
    this.limits = {
      maxBufferedBytes: options.limits?.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
      ...(options.limits?.onBlocked ? { onBlocked: options.limits.onBlocked } : {}),
    };
    // A client that only takes SSE gets SSE from the start.
    if (!acceptsJson && this.acceptsSse) this.startSse();
    this.watch(options.res);
  }

  get done(): boolean {
    return this.mode === 'done';
  }

  /** True once the client went away before its answer was complete. */
  get abandoned(): boolean {
    return this.mode === 'done' && (this.waiting.size > 0 || this.cutOff);
  }

  /** A notification or server request for this exchange; false if it cannot carry one. */
  deliverMessage(raw: string): boolean {
    if (this.mode === 'done' || !this.acceptsSse) return false;
    if (this.mode === 'pending') this.startSse();
    this.emit(raw);
    return true;
  }

  /** The response for `id`, already serialized with the client's id. */
  deliverResponse(id: JsonRpcId, raw: string): void {
    if (this.mode === 'done' || !this.waiting.delete(id)) return;
    if (this.mode === 'sse' || this.mode === 'detached') {
      this.emit(raw);
      if (this.waiting.size === 0 && this.mode === 'sse') this.finish();
      return;
    }
    this.collected.push(raw);
    if (this.waiting.size > 0) return;
    const body = this.batch ? `[${this.collected.join(',')}]` : (this.collected[0] ?? '');
    this.res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...this.extraHeaders,
    });
    this.res.end(body);
    this.finish();
  }

  /** Answers every id still waiting with a JSON-RPC error (the server went away). */
  failAll(code: number, message: string, httpStatus = 200): void {
    if (this.mode === 'pending' && this.collected.length === 0 && httpStatus !== 200) {
      const ids = [...this.waiting];
      this.waiting.clear();
      const errors = ids.map((id) => errorResponse(id, code, message));
      const body = this.batch ? `[${errors.join(',')}]` : (errors[0] ?? '');
      this.res.writeHead(httpStatus, { 'content-type': 'application/json', ...this.extraHeaders });
      this.res.end(body);
      this.finish();
      return;
    }
    for (const id of [...this.waiting]) this.deliverResponse(id, errorResponse(id, code, message));
  }

  /** The stream broke and waits for its client to come back. */
  get detached(): boolean {
    return this.mode === 'detached';
  }

  /**
   * Whether a GET may take this stream over: it is an SSE stream still open or waiting for
   * a resume. (The client may come back before this side has even seen the old connection
   * close; its GET then replaces that connection.)
   */
  get resumable(): boolean {
    return this.resumeGraceMs > 0 && (this.mode === 'sse' || this.mode === 'detached');
  }

  /**
   * Continues the stream on `res` (a GET with Last-Event-ID `p<stream>-<afterSeq>`): the
   * events after that one, then live ones until the last answer.
   */
  resume(res: ServerResponse, afterSeq: number): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const previous = this.res;
    this.res = res;
    if (!previous.writableEnded) previous.end();
    this.mode = 'sse';
    openEventStream(res, this.extraHeaders);
    this.watch(res);
    for (const [seq, raw] of this.retained) if (seq > afterSeq) this.write(this.frame(seq, raw));
    if (this.waiting.size === 0) this.finish();
  }

  private emit(raw: string): void {
    const seq = ++this.seq;
    if (this.resumeGraceMs > 0) {
      this.retained.push([seq, raw]);
      this.retainedBytes += raw.length;
      while (this.retained.length > MAX_RETAINED || this.retainedBytes > MAX_RETAINED_BYTES) {
        this.retainedBytes -= this.retained.shift()![1].length;
      }
    }
    if (this.mode === 'sse') this.write(this.frame(seq, raw));
  }

  private write(text: string): void {
    if (this.mode === 'done' || writeBounded(this.res, text, this.limits)) return;
    // The client has not read what it was sent: each request still waiting gets its error
    // (the last events of the stream, should it read on), and the stream ends.
    const held = formatByteSize(this.res.writableLength);
    const cap = formatByteSize(this.limits.maxBufferedBytes);
    const message = `the client did not read its stream (${held} unread, the bridge holds at most ${cap} per request); the request was ended`;
    for (const id of this.waiting)
      this.res.write(messageEvent(errorResponse(id, CLIENT_NOT_READING, message)));
    this.waiting.clear();
    this.cutOff = true;
    this.finish();
  }

  private frame(seq: number, raw: string): string {
    return messageEvent(raw, this.streamNo === undefined ? undefined : `p${this.streamNo}-${seq}`);
  }

  /** The client's connection closed: done, or (a broken SSE stream) wait for a resume. */
  private watch(res: ServerResponse): void {
    res.once('close', () => {
      if (this.res !== res || this.mode === 'done') return;
      if (this.mode === 'sse' && this.resumeGraceMs > 0 && this.waiting.size > 0) {
        this.mode = 'detached';
        this.graceTimer = setTimeout(() => this.finish(), this.resumeGraceMs);
        this.graceTimer.unref();
        return;
      }
      this.finish();
    });
  }

  private startSse(): void {
    this.mode = 'sse';
    openEventStream(this.res, this.extraHeaders);
  }

  private finish(): void {
    if (this.mode === 'done') return;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.mode === 'sse' && !this.res.writableEnded) this.res.end();
    this.mode = 'done';
    this.retained = [];
    this.retainedBytes = 0;
    this.onDone();
  }
}
