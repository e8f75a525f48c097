// One container instance's output, kept as a container runtime keeps it: the runtime reads the
// process's stdout and stderr through pipes and writes the CRI log format — one line per line of
// output, `<RFC3339Nano time> <stream> <F|P> <text>` (P: a partial line, cut at 16 KiB) — which
// the kubelet API serves (`kubectl logs`, --timestamps). The raw bytes also go to `<n>.log`, as
// they always did here, for tests that read a container's output directly.
import fs from 'node:fs';
import type { Readable } from 'node:stream';

export type LogStream = 'stdout' | 'stderr';

/** containerd's cut for one log line (bufio's default buffer in its CRI logger). */
const MAX_LINE_BYTES = 16 * 1024;

/** The CRI log next to the raw one: `<n>.log` → `<n>.cri`. */
export const criLogPath = (rawPath: string): string => rawPath.replace(/\.log$/, '') + '.cri';

/** Go's time.RFC3339Nano: fraction without trailing zeros, none at all when zero. */
export function rfc3339Nano(date: Date): string {
  return date.toISOString().replace(/\.(\d+)Z$/, (_, fraction: string) => {
    const trimmed = fraction.replace(/0+$/, '');
    return trimmed ? `.${trimmed}Z` : 'Z';
  });
}

export class ContainerLog {
  readonly rawPath: string;
  readonly criPath: string;
  private readonly raw: number;
  private readonly cri: number;
  private readonly pending: Record<LogStream, Buffer> = {
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
  };
  private readonly open = new Set<Promise<void>>();
  private closed = false;

  constructor(rawPath: string) {
    this.rawPath = rawPath;
    this.criPath = criLogPath(rawPath);
    this.raw = fs.openSync(rawPath, 'a');
    this.cri = fs.openSync(this.criPath, 'a');
  }

  /** Copies a process stream into the log until it ends (the process and its heirs closed it). */
  attach(source: Readable | null, stream: LogStream): void {
    if (!source) return;
    const ended = new Promise<void>((resolve) => {
      source.on('data', (chunk: Buffer) => this.write(stream, chunk));
      source.once('close', resolve);
      source.once('error', () => resolve());
    }).then(() => this.flush(stream));
    this.open.add(ended);
  }

  /** A line of the kubelet's own (e.g. why a start failed), as the container's stderr. */
  note(text: string): void {
    this.write('stderr', Buffer.from(text.endsWith('\n') ? text : `${text}\n`));
  }

  /**
   * Resolves when every attached stream has ended, or after capMs: a process that left a
   * daemon holding its stdout must not hold up its container's exit (containerd waits the same
   * way for a task's I/O, with a timeout).
   */
  async drained(capMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.open),
      new Promise((resolve) => {
        timer = setTimeout(resolve, capMs);
      }),
    ]);
    clearTimeout(timer);
  }

  close(): void {
    if (this.closed) return;
    for (const stream of ['stdout', 'stderr'] as const) this.flush(stream);
    this.closed = true;
    fs.closeSync(this.raw);
    fs.closeSync(this.cri);
  }

  private write(stream: LogStream, chunk: Buffer): void {
    if (this.closed) return;
    fs.writeSync(this.raw, chunk);
    let rest = this.pending[stream].length ? Buffer.concat([this.pending[stream], chunk]) : chunk;
    for (let newline = rest.indexOf(10); newline >= 0; newline = rest.indexOf(10)) {
      this.line(stream, 'F', rest.subarray(0, newline));
      rest = rest.subarray(newline + 1);
    }
    while (rest.length >= MAX_LINE_BYTES) {
      this.line(stream, 'P', rest.subarray(0, MAX_LINE_BYTES));
      rest = rest.subarray(MAX_LINE_BYTES);
    }
    this.pending[stream] = Buffer.from(rest);
  }

  /** What is left of a stream that ended without a newline: a full line, as at EOF. */
  private flush(stream: LogStream): void {
    if (this.closed || this.pending[stream].length === 0) return;
    this.line(stream, 'F', this.pending[stream]);
    this.pending[stream] = Buffer.alloc(0);
  }

  private line(stream: LogStream, tag: 'F' | 'P', text: Buffer): void {
    const head = Buffer.from(`${rfc3339Nano(new Date())} ${stream} ${tag} `);
    fs.writeSync(this.cri, Buffer.concat([head, text, Buffer.from('\n')]));
  }
}
