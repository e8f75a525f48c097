// A load generator that costs as little CPU as possible: raw keep-alive HTTP/1.1 over one
// socket per concurrent worker, requests built as strings, responses parsed just enough
// (status line, Content-Length or chunked framing) to know where each ends. On a 2-core
// machine the load generator competes with the processes it measures; undici's full
// client spends ~3× more CPU per request than this, CPU the gateway then cannot use
// (wrk exists for the same reason). Every reply is still checked.
import net from 'node:net';

export interface RawPost {
  /** The request body for request number `id`. */
  body(id: number): string;
  /** Whether `text` (the decoded response body) is the right answer to `id`. */
  check(text: string, id: number): boolean;
}

/**
 * `count` POSTs to `url`, `concurrency` connections each with one request in flight.
 * Returns each request's latency in ms; rejects on a non-2xx status or a wrong reply.
 */
export async function rawPostLoad(
  url: string,
  headers: Record<string, string>,
  post: RawPost,
  count: number,
  concurrency: number,
  nextId: () => number,
): Promise<number[]> {
  const target = new URL(url);
  const head =
    `POST ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\n` +
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
  const latencies: number[] = [];
  let issued = 0;
  const worker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(Number(target.port), target.hostname);
      socket.setNoDelay(true);
      socket.setEncoding('latin1');
      const parser = new ResponseParser();
      let id = 0;
      let started = 0;
      const fail = (err: Error): void => {
        socket.destroy();
        reject(err);
      };
      const send = (): void => {
        if (issued >= count) {
          socket.end();
          resolve();
          return;
        }
        issued += 1;
        id = nextId();
        const body = post.body(id);
        started = performance.now();
        socket.write(`${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      };
      socket.on('data', (data: string) => {
        const response = parser.push(data);
        if (response === undefined) return;
        if (response.status < 200 || response.status >= 300) {
          fail(new Error(`HTTP ${response.status}: ${response.body}`));
        } else if (!post.check(response.body, id)) {
          fail(new Error(`unexpected reply to ${id}: ${response.body}`));
        } else {
          latencies.push(performance.now() - started);
          send();
        }
      });
      socket.once('error', fail);
      socket.once('connect', send);
    });
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies;
}

/** Incremental HTTP/1.1 response framing: one response at a time (no pipelining). */
class ResponseParser {
  #buffer = '';

  /** Adds bytes (latin1); returns the response once it is complete. */
  push(data: string): { status: number; body: string } | undefined {
    this.#buffer += data;
    const headEnd = this.#buffer.indexOf('\r\n\r\n');
    if (headEnd === -1) return undefined;
    const head = this.#buffer.slice(0, headEnd);
    const status = Number(head.slice(9, 12));
    const rest = headEnd + 4;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body: string | undefined;
    let end: number;
    if (length) {
      end = rest + Number(length[1]);
      if (this.#buffer.length >= end) body = this.#buffer.slice(rest, end);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      ({ body, end } = dechunk(this.#buffer, rest));
    } else {
      throw new Error(`response without framing: ${head}`);
    }
    if (body === undefined) return undefined;
    this.#buffer = this.#buffer.slice(end);
    return { status, body: Buffer.from(body, 'latin1').toString('utf8') };
  }
}

/** Chunked body starting at `at`: the data and where the message ends, or undefined yet. */
function dechunk(text: string, at: number): { body: string | undefined; end: number } {
  let body = '';
  let pos = at;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', pos);
    if (lineEnd === -1) return { body: undefined, end: 0 };
    const size = parseInt(text.slice(pos, lineEnd), 16);
    if (Number.isNaN(size)) throw new Error('malformed chunk size');
    const dataStart = lineEnd + 2;
    if (size === 0) {
      // No trailers expected: the last chunk is followed by one empty line.
      if (text.length < dataStart + 2) return { body: undefined, end: 0 };
      return { body, end: dataStart + 2 };
    }
    if (text.length < dataStart + size + 2) return { body: undefined, end: 0 };
    body += text.slice(dataStart, dataStart + size);
    pos = dataStart + size + 2;
  }
}
