// A slow client must slow the upstream down, not make the gateway buffer the stream: the
// gateway pauses the upstream socket when the client's socket is full and resumes on
// drain, and every byte still arrives, in order.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.ts';
import { StaticFleet } from './static-fleet.ts';
import { startGateway, waitFor, type RunningGateway } from './start-gateway.ts';

const EVENT_BYTES = 64 * 1024;
const TOTAL_EVENTS = 256; // 16 MiB in all

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
    const socket: Socket = connect(gateway.port, '127.0.0.1');
    socket.pause(); // a client that does not read
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /servers/stream/mcp HTTP/1.1\r\nhost: 127.0.0.1:${gateway.port}\r\n` +
        'accept: text/event-stream\r\nmcp-session-id: s-1\r\nconnection: close\r\n\r\n',
    );
    await waitFor(() => progress.blocked, 'the upstream to be blocked by backpressure', 10_000);
    // Stays blocked: a gateway that kept reading (buffering) would let it finish. Only a
    // broken gateway can be slow enough to pass this by luck; a correct one never fails it.
    let last = -1;
    await waitFor(
      () => {
        const still = progress.blocked && progress.written === last;
        last = progress.written;
        return still || progress.done;
      },
      'the upstream to stay blocked',
      10_000,
      500,
    );
    // Socket buffers along the way (client, gateway, upstream) hold a few MiB at most; had
    // the gateway buffered the stream, the upstream would have written all 16 MiB by now.
    const total = TOTAL_EVENTS * EVENT_BYTES;
    assert.ok(!progress.done, 'the upstream finished although nobody read the stream');
    assert.ok(
      progress.written < total / 2,
      `the upstream wrote ${progress.written} of ${total} bytes with nobody reading`,
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
