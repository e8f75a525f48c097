// The HTTP response to one POST that carried requests. It answers as plain JSON when it
// can (cheapest), and switches to an SSE stream only when a notification related to the
// request (progress, logging) must reach the client before the response, and only if the
// client's Accept allows it.
import type { ServerResponse } from 'node:http';
import { errorResponse, type JsonRpcId } from './jsonrpc.ts';

export class PostExchange {
  /** Request ids (as the client sent them) still waiting for a response. */
  readonly waiting: Set<JsonRpcId>;
  private readonly res: ServerResponse;
  private readonly batch: boolean;
  private readonly acceptsSse: boolean;
  private readonly extraHeaders: Record<string, string>;
  private readonly collected: string[] = [];
  private mode: 'pending' | 'sse' | 'done' = 'pending';
  onDone: () => void = () => {};

  constructor(options: {
    res: ServerResponse;
    ids: JsonRpcId[];
    batch: boolean;
    accept: string;
    headers: Record<string, string>;
  }) {
    this.res = options.res;
    this.waiting = new Set(options.ids);
    this.batch = options.batch;
    const accept = options.accept;
    this.acceptsSse = accept.includes('text/event-stream');
    const acceptsJson =
      accept === '' || accept.includes('application/json') || accept.includes('*/*');
    this.extraHeaders = options.headers;
    // A client that only takes SSE gets SSE from the start.
    if (!acceptsJson && this.acceptsSse) this.startSse();
    options.res.once('close', () => {
      if (this.mode !== 'done') this.finish();
    });
  }

  get done(): boolean {
    return this.mode === 'done';
  }

  /** True once the client went away before its answer was complete. */
  get abandoned(): boolean {
    return this.mode === 'done' && this.waiting.size > 0;
  }

  /** A notification or server request for this exchange; false if it cannot carry one. */
  deliverMessage(raw: string): boolean {
    if (this.mode === 'done' || !this.acceptsSse) return false;
    if (this.mode === 'pending') this.startSse();
    this.res.write(`event: message\ndata: ${raw}\n\n`);
    return true;
  }

  /** The response for `id`, already serialized with the client's id. */
  deliverResponse(id: JsonRpcId, raw: string): void {
    if (this.mode === 'done' || !this.waiting.delete(id)) return;
    if (this.mode === 'sse') {
      this.res.write(`event: message\ndata: ${raw}\n\n`);
      if (this.waiting.size === 0) this.finish();
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

  private startSse(): void {
    this.mode = 'sse';
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...this.extraHeaders,
    });
    this.res.flushHeaders();
  }

  private finish(): void {
    if (this.mode === 'sse' && !this.res.writableEnded) this.res.end();
    this.mode = 'done';
    this.onDone();
  }
}
