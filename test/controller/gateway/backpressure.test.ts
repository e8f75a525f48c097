// A slow client must slow the upstream down, not make the gateway buffer the stream: the
// gateway pauses the upstream socket when the client's socket is full and resumes on
// drain, and every byte still arrives, in order. Kernel socket buffers on loopback can
// absorb tens of MiB (tcp_rmem autotuning), so the test looks at what the gateway itself
// holds: its response's write buffer must stay small while nobody reads.
import type { ServerResponse } from 'node:http';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.ts';
import { StaticFleet } from './static-fleet.ts';
import { startGateway, waitFor, type RunningGateway } from './start-gateway.ts';

const EVENT_BYTES = 1024 * 1024;
// 64 MiB in all: more than loopback socket buffers can absorb on the client's side
// (tcp_rmem max 32 MiB + wmem 4 MiB by default), so a gateway that read on regardless
// would be left holding the rest.
const TOTAL_EVENTS = 64;
/** A paused gateway holds at most a socket read's worth of chunks beyond its high-water mark. */
const GATEWAY_BUFFER_LIMIT = 256 * 1024;

describe('gateway backpressure', function () {
  this.timeout(30_000);
  let upstream: RecordingUpstream;
  let gateway: RunningGateway;
  /** What the upstream has managed to write, and whether it is waiting for 'drain'. */
  const progress = { written: 0, blocked: false, done: false };

  before(async function () {
    upstream = await startRecordingUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const pump = (): void => {
        progress.blocked = false;
        while (sent < TOTAL_EVENTS) {
          const event = `id: ${sent}\ndata: ${String(sent)
            .padStart(8, '0')
            .repeat(EVENT_BYTES / 8 - 4)}\n\n`;
          sent += 1;
          progress.written += event.length;
          if (!res.write(event)) {
            progress.blocked = true;
            res.once('drain', pump);
            return;
          }
        }
        progress.done = true;
        res.end();
      };
      pump();
    });
    gateway = await startGateway(new StaticFleet({ stream: upstream.url }));
  });
  after(async function () {
    await gateway.close();
    await upstream.close();
  });

  it('pauses the upstream while the client is not reading, then delivers every byte in order', async function () {
    let relayed: ServerResponse | undefined;
    gateway.controller.server.once('request', (_req, res: ServerResponse) => (relayed = res));
    const socket: Socket = connect(gateway.port, '127.0.0.1');
    socket.pause(); // a client that does not read
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /servers/stream/mcp HTTP/1.1\r\nhost: 127.0.0.1:${gateway.port}\r\n` +
        'accept: text/event-stream\r\nmcp-session-id: s-1\r\nconnection: close\r\n\r\n',
    );
    // Until the pipeline settles: the upstream blocked and making no progress (or done, if
    // the kernel buffers swallowed the whole stream).
    let last = -1;
    await waitFor(
      () => {
        const settled = (progress.blocked && progress.written === last) || progress.done;
        last = progress.written;
        return settled;
      },
      'the stream to settle with nobody reading',
      10_000,
      250,
    );
    assert.ok(relayed, 'the gateway saw the request');
    assert.ok(
      relayed.writableLength <= GATEWAY_BUFFER_LIMIT,
      `the gateway buffers ${relayed.writableLength} bytes for a client that does not read`,
    );

    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.resume();
    await new Promise<void>((resolve) => socket.once('end', resolve));
    const text = Buffer.concat(chunks).toString('latin1');
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(
      ids,
      Array.from({ length: TOTAL_EVENTS }, (_, i) => i),
    );
    assert.ok(progress.done);
  });
});
