// Where the controller's log lines leave the process, with a bounded buffer. A log written
// faster than its reader takes it (a pipe nobody drains fast, a stuck terminal, a logging
// agent that fell behind) used to pile up in memory without end: pino's default SonicBoom
// has no limit, and took the controller to 2.3 GB while a server flooded its stderr. Here the
// bytes waiting are capped (maxBufferedBytes); a line that does not fit is dropped and
// counted, and the first line that fits again is preceded by one saying how many were lost,
// so a reader of the log knows there is a gap and how large. Never blocks the event loop:
// a file descriptor is written asynchronously, and at exit what is left gets a bounded try.
import { writeSync } from 'node:fs';
import sonicBoom from 'sonic-boom';

// A CommonJS module whose class Node's ESM loader sees only as the default export.
const { SonicBoom } = sonicBoom;
type SonicBoom = InstanceType<typeof SonicBoom>;

/** Log bytes held for a destination that does not keep up; default 8 MiB. */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** How long exit waits for a destination that does not drain before giving up on it. */
const EXIT_FLUSH_MS = 1000;

export interface LogDestinationOptions {
  /** A file descriptor (1: stdout) or a stream. */
  target: number | NodeJS.WritableStream;
  maxBufferedBytes?: number;
  /** Turns each JSON line into what is written (pino-pretty's formatter); default as is. */
  format?: (line: string) => string;
}

export class LogDestination {
  /** Lines dropped since the start because the destination did not keep up. */
  dropped = 0;
  private readonly max: number;
  private readonly format: (line: string) => string;
  private readonly boom: SonicBoom | undefined;
  private readonly stream: NodeJS.WritableStream | undefined;
  /** Dropped since the last line that got through: told in the next one that fits. */
  private unreported = 0;
  private lastDropped = false;
  private broken = false;

  constructor(options: LogDestinationOptions) {
    this.max = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (!(this.max > 0)) throw new Error(`maxBufferedBytes must be positive, got ${this.max}`);
    this.format = options.format ?? ((line) => line);
    if (typeof options.target === 'number') {
      this.boom = new SonicBoom({
        fd: options.target,
        sync: false,
        minLength: 0,
        maxLength: this.max,
        retryEAGAIN: () => !exitDeadlinePassed(),
      });
      this.boom.on('drop', () => (this.lastDropped = true));
      this.boom.on('error', (err: NodeJS.ErrnoException) => {
        // EPIPE: the reader is gone for good. Anything else: nothing more can be written.
        this.broken = true;
        if (err.code !== 'EPIPE')
          process.stderr.write(`mcpfleet: log output failed: ${err.message}\n`);
      });
      if (exitFlushes.size === 0) process.once('exit', flushAll);
      exitFlushes.add(this);
    } else {
      this.stream = options.target;
    }
  }

  /** Bytes written but not yet taken by the destination (at most maxBufferedBytes). */
  get buffered(): number {
    if (this.boom) return (this.boom as unknown as { _len: number })._len;
    return (this.stream as { writableLength?: number }).writableLength ?? 0;
  }

  /** One serialized record (a JSON line, as pino writes it). */
  write(line: string): void {
    if (this.unreported > 0) {
      if (!this.put(droppedRecord(this.unreported))) {
        this.drop();
        return;
      }
      this.unreported = 0;
    }
    if (!this.put(line)) this.drop();
  }

  /** At exit: what is buffered, then the count of what was lost since the last line. */
  flushSync(): void {
    if (!this.boom || this.broken) return;
    this.boom.flushSync();
    if (this.unreported === 0) return;
    // Past the buffer: a write still in flight counts in it until a callback that never comes.
    writeSync(
      (this.boom as unknown as { fd: number }).fd,
      this.format(droppedRecord(this.unreported)),
    );
    this.unreported = 0;
  }

  private drop(): void {
    this.dropped++;
    this.unreported++;
  }

  /** Writes `line` formatted; false when it did not fit. */
  private put(line: string): boolean {
    if (this.broken) return false;
    const text = this.format(line);
    if (this.boom) {
      this.lastDropped = false;
      this.boom.write(text);
      return !this.lastDropped;
    }
    if (this.buffered + Buffer.byteLength(text) > this.max) return false;
    this.stream!.write(text);
    return true;
  }
}

/** The line that stands for `count` lost ones, as a pino record of the controller's. */
function droppedRecord(count: number): string {
  return (
    JSON.stringify({
      level: 40,
      time: Date.now(),
      service: 'mcpfleet',
      component: 'log',
      dropped: count,
      msg: `${count} log lines dropped: the log destination did not keep up`,
    }) + '\n'
  );
}

// At exit there is no event loop: what is still buffered is written synchronously, retrying
// a destination that is full (EAGAIN) for EXIT_FLUSH_MS at most, then left.
const exitFlushes = new Set<LogDestination>();
let exitDeadline: number | undefined;

function exitDeadlinePassed(): boolean {
  return exitDeadline !== undefined && Date.now() > exitDeadline;
}

function flushAll(): void {
  exitDeadline = Date.now() + EXIT_FLUSH_MS;
  for (const destination of exitFlushes) {
    try {
      destination.flushSync();
    } catch {
      // Full past the deadline, or closed: those lines are lost.
    }
  }
}
