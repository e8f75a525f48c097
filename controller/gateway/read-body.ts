// Reads a request body into memory with a hard limit, checked as bytes arrive, so an
// oversized upload costs at most `limit` bytes of memory whatever it claims or streams, and
// a deadline, so a body trickled a byte at a time cannot hold a request (and its
// descriptor) open for as long as the client likes.
import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`Request body exceeds the limit of ${limit} bytes`);
    this.name = 'BodyTooLargeError';
    this.limit = limit;
  }
}

/** The client aborted while sending its body. */
export class BodyAbortedError extends Error {
  constructor() {
    super('Client aborted the request body');
    this.name = 'BodyAbortedError';
  }
}

/** The whole body did not arrive within the deadline. */
export class BodyTimeoutError extends Error {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`The request body did not arrive within ${timeoutMs} ms`);
    this.name = 'BodyTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** `timeoutMs`: the whole body, from now; none when absent. */
export function readBody(req: IncomingMessage, limit: number, timeoutMs?: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            cleanup();
            chunks.length = 0;
            reject(new BodyTimeoutError(timeoutMs));
          }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (): void => {
      cleanup();
      reject(new BodyAbortedError());
    };
    const onClose = (): void => {
      if (!req.complete) onError();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
