// Newline-delimited messages out of a byte stream, in linear time and bounded memory. Each
// chunk is scanned once, from where the last scan stopped, and a message split across chunks
// is joined once, when its newline arrives (the old reader appended each chunk to a string
// and rescanned all of it: a 60 MB answer took a minute of a pegged core). Bytes, not text:
// a line is decoded once whole, so a multi-byte character split between chunks stays intact.
//
// A line longer than `maxLineBytes` is not kept: its first bytes (`headBytes`, enough to read
// an envelope's id) go to `onOversized` the moment it crosses the limit, and the rest of it is
// skipped up to its newline, however long that takes, holding nothing.

export interface LineSplitterOptions {
  maxLineBytes: number;
  /** One complete line, without its newline (and without a trailing \r). */
  onLine(line: string): void;
  /** A line crossed the limit; `head` is its beginning. Called once per such line. */
  onOversized(head: string): void;
  /** How much of an oversized line `onOversized` sees; default 64 KiB. */
  headBytes?: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class LineSplitter {
  private readonly options: LineSplitterOptions;
  private readonly headBytes: number;
  /** The start of the current line, chunk by chunk (no newline in any of them). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside an oversized line: bytes are dropped until its newline. */
  private skipping = false;

  constructor(options: LineSplitterOptions) {
    this.options = options;
    this.headBytes = Math.min(options.headBytes ?? 64 * 1024, options.maxLineBytes);
  }

  /** Bytes held for the line in progress (never more than maxLineBytes). */
  get buffered(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      if (this.skipping) {
        if (newline !== -1) this.skipping = false;
      } else if (this.pendingBytes + (end - start) > this.options.maxLineBytes) {
        this.oversized(chunk.subarray(start, end));
        this.skipping = newline === -1;
      } else if (newline === -1) {
        if (end > start) this.hold(chunk.subarray(start, end));
      } else {
        this.emit(chunk.subarray(start, end));
      }
      if (newline === -1) return;
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.pendingBytes > 0 && !this.skipping) this.emit(Buffer.alloc(0));
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
  }

  private hold(part: Buffer): void {
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private emit(last: Buffer): void {
    let line =
      this.pending.length === 0
        ? last
        : Buffer.concat([...this.pending, last], this.pendingBytes + last.length);
    this.pending = [];
    this.pendingBytes = 0;
    if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, -1);
    if (line.length > 0) this.options.onLine(line.toString('utf8'));
  }

  private oversized(last: Buffer): void {
    const head = Buffer.concat([...this.pending, last.subarray(0, this.headBytes)]);
    this.pending = [];
    this.pendingBytes = 0;
    this.options.onOversized(head.subarray(0, this.headBytes).toString('utf8'));
  }
}
