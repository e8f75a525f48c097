// The proxying itself: send one request upstream through its pool, then relay the
// response to the client as it arrives. Chunks are written the moment undici hands them
// over (no aggregation), so SSE events reach the client one by one; backpressure pauses
// the upstream instead of buffering.
import type { EventEmitter } from 'node:events';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { errors, type Dispatcher } from 'undici';
import type { UpstreamTarget } from './upstream-pools.ts';

export type UpstreamResponse = Dispatcher.ResponseData;

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
  /** Emits 'abort' to cancel the call (undici takes an EventEmitter as a signal). */
  signal: EventEmitter;
}

/**
 * Resolves with the upstream's status and headers (the body still streaming). Rejects with
 * UpstreamError, or with the abort reason when `signal` fired (caller knows which side).
 */
export async function sendUpstream(
  target: UpstreamTarget,
  call: UpstreamCall,
): Promise<UpstreamResponse> {
  try {
    return await target.pool.request({
      path: call.path,
      method: call.method,
      headers: call.headers,
      body: call.body,
      signal: call.signal,
    });
  } catch (err) {
    if (err instanceof errors.RequestAbortedError) throw err;
    if (err instanceof errors.HeadersTimeoutError) {
      throw new UpstreamError(504, 'Upstream server did not answer in time');
    }
    const code = (err as { code?: string }).code ?? '';
    throw new UpstreamError(502, `Upstream server unreachable${code ? ` (${code})` : ''}`);
  }
}

/**
 * Streams `upstream` to `res`. When `leaseSignal` fires (the server is going to sleep) the
 * client response ends cleanly; any other upstream failure mid-body destroys the client
 * connection so the client sees an error rather than a truncated success.
 */
export function relayResponse(
  res: ServerResponse,
  upstream: UpstreamResponse,
  headers: OutgoingHttpHeaders,
  leaseSignal: AbortSignal,
  flushHeaders: boolean,
): void {
  res.writeHead(upstream.statusCode, headers);
  const body = upstream.body;
  // A standalone GET stream must show its headers now (clients wait for them to consider
  // the stream open); POST replies send theirs with the first bytes, saving a packet.
  if (flushHeaders) res.flushHeaders();

  const onDrain = (): void => {
    body.resume();
  };
  res.on('drain', onDrain);
  body.on('data', (chunk: Buffer) => {
    if (!res.write(chunk)) body.pause();
  });
  body.once('end', () => {
    res.off('drain', onDrain);
    res.end();
  });
  body.once('error', () => {
    res.off('drain', onDrain);
    if (res.destroyed) return;
    if (leaseSignal.aborted) res.end();
    else res.destroy();
  });
}

/** Reads at most `limit` bytes of a small upstream body; undefined when larger. */
export async function readSmallBody(
  upstream: UpstreamResponse,
  limit: number,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      upstream.body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
