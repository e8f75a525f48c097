// The log cannot take the controller down: a destination that does not keep up (a real pipe
// nobody reads) holds at most maxBufferedBytes, the rest is dropped and said in one line with
// its count; a server's output takes tokens of one bucket per replica, and what is over it is
// counted, summed up once per interval and marks the server as flooding until an interval
// passes without drops.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { outputLog } from '../../../controller/bridge/output-log.ts';
import { createLogger, logDestinationOf } from '../../../controller/observability/log.ts';
import {
  OutputRateLimit,
  attachOutputRateLimit,
  type OutputStream,
} from '../../../controller/observability/output-rate-limit.ts';
import { logRecorder, type LogRecord } from '../support/log-recorder.ts';
import { waitFor } from '../support/processes.ts';

describe('log flood', function () {
  this.timeout(30_000);

  describe('a log destination that does not keep up', function () {
    let dir: string;
    let readFd: number | undefined;
    let reader: Socket | undefined;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'mcpfleet-log-pipe-'));
    });
    afterEach(() => {
      reader?.destroy();
      reader = undefined;
      if (readFd !== undefined && !reader) {
        try {
          closeSync(readFd);
        } catch {
          // the socket closed it
        }
      }
      readFd = undefined;
      rmSync(dir, { recursive: true, force: true });
    });

    it('a real pipe nobody reads: bounded, each gap said with the count of lines lost', async function () {
      // A FIFO: a kernel pipe, as stdout is under a process supervisor or `| slow-reader`.
      const fifo = join(dir, 'log');
      execFileSync('mkfifo', [fifo]);
      readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const writeFd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      const max = 64 * 1024;
      const logger = createLogger({ level: 'info', destination: writeFd, maxBufferedBytes: max });
      const destination = logDestinationOf(logger)!;
      const LINES = 20_000;
      const padding = 'p'.repeat(150);
      for (let i = 0; i < LINES; i++) logger.info({ i, padding }, 'line');
      // 3 MB logged into a pipe that holds 64 KiB: the logger holds no more than its bound.
      assert.ok(destination.buffered <= max, `buffered ${destination.buffered} > ${max}`);
      assert.ok(destination.dropped > LINES / 2, `only ${destination.dropped} dropped`);

      // The reader wakes up: what was kept arrives, then the count of the rest, then new lines.
      reader = new Socket({ fd: readFd, readable: true, writable: false });
      let text = '';
      reader.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      await waitFor(() => destination.buffered === 0, 10_000, 'the pipe to drain');
      logger.info('after');
      await waitFor(() => text.includes('"msg":"after"'), 10_000, 'the line after the flood');
      const records = text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as LogRecord);
      const kept = records.filter((r) => r.msg === 'line').length;
      const told = records.filter((r) => r.dropped !== undefined);
      // One line per gap (the buffer filled again after the first one was told).
      assert.ok(told.length >= 1 && told.length <= 5, `${told.length} gaps`);
      for (const gap of told)
        assert.match(gap.msg, /^\d+ log lines dropped: the log destination did not keep up$/);
      const lost = told.reduce((sum, gap) => sum + gap.dropped!, 0);
      assert.equal(kept + lost, LINES, 'every line is written or counted');
      assert.equal(lost, destination.dropped);
      // What got through is what the bound and the pipe hold, not the flood.
      assert.ok(kept * 200 < 4 * max, `${kept} lines got through`);
      closeSync(writeFd);
    });

    it('a stream that does not drain: bounded the same way', function () {
      // A Writable whose write never completes (a stuck consumer).
      const stuck = new Writable({ write: () => {}, highWaterMark: 1024 });
      const logger = createLogger({ level: 'info', destination: stuck, maxBufferedBytes: 10_000 });
      for (let i = 0; i < 5_000; i++) logger.info({ i }, 'line');
      const destination = logDestinationOf(logger)!;
      assert.ok(stuck.writableLength <= 10_000, `${stuck.writableLength} bytes held`);
      assert.ok(destination.dropped > 4_000);
    });
  });

  describe("a server's output", function () {
    function limited(options: ConstructorParameters<typeof OutputRateLimit>[2]) {
      const out = logRecorder();
      const logger = createLogger({ level: 'info', destination: out.stream });
      const server = logger.child({ server: 'loud', replica: 'loud-1' });
      const floods: (string | null)[] = [];
      const drops: [OutputStream, number][] = [];
      const limit = new OutputRateLimit(server, 'loud', options, {
        onFlood: (reason) => floods.push(reason),
        onDropped: (stream, count) => drops.push([stream, count]),
      });
      attachOutputRateLimit(server, limit);
      return { out, server, limit, floods, drops };
    }

    it('logs a burst, then the rate: the rest is counted, summed once per interval', async function () {
      const { out, server, limit, floods, drops } = limited({
        linesPerSecond: 5,
        burst: 20,
        intervalMs: 200,
      });
      const stderr = outputLog(server, 'stderr');
      const started = performance.now();
      for (let i = 0; i < 10_000; i++) stderr.write(`line ${i}\n`);
      const elapsedS = (performance.now() - started) / 1000;
      const logged = () => out.records.filter((r) => r.stderr !== undefined).length;
      assert.ok(logged() >= 20, 'the burst gets through');
      assert.ok(logged() <= 20 + Math.ceil(5 * elapsedS), `${logged()} lines logged`);
      assert.equal(floods.length, 1);
      assert.match(floods[0]!, /^log flood: /);
      assert.ok(limit.flooding);

      // The flood stops: its drops are told, then after a quiet interval it is over.
      await waitFor(() => floods.length === 2, 5_000, 'the flood to end');
      assert.equal(floods[1], null);
      const dropped = drops.reduce((sum, [, count]) => sum + count, 0);
      assert.equal(logged() + dropped, 10_000, 'every line is logged or counted');
      const summaries = out.records.filter((r) => r.dropped !== undefined && r.stream);
      assert.ok(summaries.length >= 1);
      assert.match(summaries[0]!.msg, /^server loud: dropped \d+ stderr lines in the last 200 ms$/);
      assert.equal(
        summaries.reduce((sum, r) => sum + r.dropped!, 0),
        dropped,
      );
      assert.equal(limit.flooding, false);
    });

    it('shares one bucket between streams and processes; closing reports what is left, and ends it', function () {
      const { out, server, limit, floods, drops } = limited({
        linesPerSecond: 1,
        burst: 3,
        intervalMs: 60_000,
      });
      const first = outputLog(server, 'stderr');
      // Another process of the replica, logging through a child of its logger.
      const second = outputLog(server.child({ pid: 4242 }), 'stdout');
      for (let i = 0; i < 100; i++) {
        first.write(`a ${i}\n`);
        second.write(`b ${i}\n`);
      }
      const logged = out.records.filter((r) => r.msg.startsWith('server std')).length;
      assert.ok(logged >= 3 && logged <= 4, `${logged} lines logged`);
      limit.close();
      assert.deepEqual(floods.at(-1), null);
      const dropped = drops.reduce((sum, [, count]) => sum + count, 0);
      assert.equal(logged + dropped, 200);
      assert.deepEqual(drops.map(([stream]) => stream).sort(), ['stderr', 'stdout']);
      // The replica is gone: a process still dying may print, but raises no new flood.
      first.write('late\n'.repeat(100));
      assert.equal(limit.flooding, false);
      assert.equal(floods.length, 2);
    });

    it('refuses a limit that is not a positive number', function () {
      const logger = createLogger({ level: 'silent', destination: logRecorder().stream });
      assert.throws(
        () => new OutputRateLimit(logger, 'x', { linesPerSecond: 0 }),
        /linesPerSecond must be a positive number, got 0/,
      );
      assert.throws(() => new OutputRateLimit(logger, 'x', { burst: -1 }), /burst/);
    });
  });
});
