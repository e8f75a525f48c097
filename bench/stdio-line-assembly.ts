// Assembling one large message from a stdio child's output: the bridge's reader
// (line-splitter.ts) next to the least any reader can do, timed in the same run.
//   in-process: the same 64 KiB chunks (a pipe read's size) fed to the splitter, against
//               Buffer.concat of those chunks + one utf8 decode (the baseline: what the
//               splitter does at the newline, without looking for it);
//   end to end: a real child (the hostile fixture's `huge` tool) writes its answer through
//               a pipe; the bridge's StdioChild until onMessage (JSON.parse included),
//               against a plain reader of the same child's stdout collecting chunks until the
//               newline, then Buffer.concat + decode.
// Runs alternate (splitter, baseline, splitter, ...) so machine drift hits both alike; each
// figure is the median. Target: the splitter assembles a 60 MB message in <= 1 s (the old
// reader rescanned its whole buffer per chunk: 61.7 s). Prints JSON.
// Usage: node bench/stdio-line-assembly.ts [megabytes=60] [runs=5]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LineSplitter } from '../controller/bridge/line-splitter.ts';
import { StdioChild } from '../controller/bridge/stdio-child.ts';
import { silentLogger } from '../controller/observability/log.ts';

const MEGABYTES = Number(process.argv[2] ?? 60);
const RUNS = Number(process.argv[3] ?? 5);
const BYTES = MEGABYTES * 1000 * 1000;
const CHUNK = 64 * 1024;
const TARGET_MS = 1000;
const HOSTILE = fileURLToPath(new URL('../test/fixtures/hostile-server.ts', import.meta.url));

/** A JSON-RPC answer of BYTES bytes with a newline, cut in CHUNK-sized pieces. */
function messageChunks(): Buffer[] {
  const head = '{"jsonrpc":"2.0","id":1,"result":{"text":"';
  const tail = '"}}\n';
  const whole = Buffer.alloc(BYTES, 'x');
  whole.write(head, 0);
  whole.write(tail, BYTES - tail.length);
  const chunks: Buffer[] = [];
  for (let at = 0; at < BYTES; at += CHUNK) chunks.push(whole.subarray(at, at + CHUNK));
  return chunks;
}

function timeSplitter(chunks: Buffer[]): number {
  let length = 0;
  const started = performance.now();
  const splitter = new LineSplitter({
    maxLineBytes: BYTES * 2,
    onLine: (line) => (length = line.length),
    onOversized: () => {
      throw new Error('unexpectedly oversized');
    },
  });
  for (const chunk of chunks) splitter.push(chunk);
  const ms = performance.now() - started;
  if (length !== BYTES - 1) throw new Error(`assembled ${length} chars`);
  return ms;
}

function timeConcat(chunks: Buffer[]): number {
  const started = performance.now();
  const line = Buffer.concat(chunks)
    .subarray(0, BYTES - 1)
    .toString('utf8');
  const ms = performance.now() - started;
  if (line.length !== BYTES - 1) throw new Error(`assembled ${line.length} chars`);
  return ms;
}

const HUGE_REQUEST = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'huge', arguments: { bytes: BYTES } },
});

/** The bridge's StdioChild: from the request written to the parsed answer. */
async function timeChild(): Promise<number> {
  const child = new StdioChild({ command: process.execPath, args: [HOSTILE] }, silentLogger(), {
    maxMessageBytes: BYTES * 2,
  });
  await ping(child);
  const answered = new Promise<void>((resolve) => (child.onMessage = () => resolve()));
  const started = performance.now();
  child.send(HUGE_REQUEST);
  await answered;
  const ms = performance.now() - started;
  await child.stop(100);
  return ms;
}

async function ping(child: StdioChild): Promise<void> {
  const answered = new Promise<void>((resolve) => (child.onMessage = () => resolve()));
  child.send('{"jsonrpc":"2.0","id":0,"method":"ping"}');
  await answered;
}

/** A plain reader of the same child: chunks until the newline, then one concat + decode. */
async function timeRawReader(): Promise<number> {
  const proc = spawn(process.execPath, [HOSTILE], { stdio: ['pipe', 'pipe', 'ignore'] });
  const chunks: Buffer[] = [];
  let resolveLine: (ms: number) => void = () => {};
  let started = 0;
  let warmedUp = false;
  proc.stdout.on('data', (chunk: Buffer) => {
    if (!warmedUp) {
      warmedUp = true; // the ping's answer
      started = performance.now();
      proc.stdin.write(HUGE_REQUEST + '\n');
      return;
    }
    chunks.push(chunk);
    if (chunk.indexOf(0x0a) === -1) return;
    const text = Buffer.concat(chunks).toString('utf8');
    JSON.parse(text);
    resolveLine(performance.now() - started);
  });
  proc.stdin.write('{"jsonrpc":"2.0","id":0,"method":"ping"}\n');
  const ms = await new Promise<number>((resolve) => (resolveLine = resolve));
  proc.kill('SIGKILL');
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
}

const chunks = messageChunks();
const splitter: number[] = [];
const concat: number[] = [];
const child: number[] = [];
const raw: number[] = [];
timeSplitter(chunks); // warm-up
timeConcat(chunks);
for (let i = 0; i < RUNS; i++) {
  splitter.push(timeSplitter(chunks));
  concat.push(timeConcat(chunks));
  child.push(await timeChild());
  raw.push(await timeRawReader());
}
const splitterMs = median(splitter);
const childMs = median(child);
console.log(
  JSON.stringify(
    {
      benchmark: 'stdio-line-assembly',
      messageBytes: BYTES,
      chunkBytes: CHUNK,
      runs: RUNS,
      inProcess: {
        splitterMs,
        baselineConcatMs: median(concat),
        ratio: Math.round((splitterMs / median(concat)) * 100) / 100,
      },
      endToEnd: {
        what: 'a real child writes the message to a pipe; request sent → answer parsed',
        stdioChildMs: childMs,
        baselineRawReaderMs: median(raw),
        ratio: Math.round((childMs / median(raw)) * 100) / 100,
      },
      targetMs: TARGET_MS,
      withinTarget: splitterMs <= TARGET_MS && childMs <= TARGET_MS,
    },
    null,
    2,
  ),
);
