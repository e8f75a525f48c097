// The controller's memory while a server floods it, whatever the flood. Each flood runs in a
// fresh `mcpfleet serve` process (the real CLI, embedded in-memory store), with the hostile
// fixture as its one server:
//   stderr-flood        the child writes stderr as fast as the pipe takes it
//   stderr-flood, log not read
//                       the same, and nobody reads the controller's own stdout (its log)
//   stdout-garbage      non-JSON lines on the child's stdout, between its answers
//   notifications       the `flood` tool's notifications to a client that does not read
//   huge-lines          `huge` answers of 100 MB each (above the 16 MiB message limit), one
//                       after the other
//   endless-line        stdout bytes that never end in a newline
// For each: the idle controller's resident set (VmRSS from /proc, after start, before the
// server wakes: the baseline of the same run), then the flood for FLOOD_S seconds with VmRSS
// sampled every 100 ms, and VmHWM (the kernel's peak) at the end; the controller's CPU time
// over the flood, how much log it wrote, and what it counted as dropped. Target: the peak
// stays bounded, <= 300 MB, whatever the child does. Linux only. Prints JSON.
// Dropped-line counts are read from /metrics, where they land once per 10 s interval.
// Usage: node bench/flood-rss.ts [seconds=15]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkloadSpec } from '../registry/catalog/spec.ts';
import { freePort } from '../test/controller/support/free-port.ts';
import { registrySpec } from './fleet-setup.ts';

const FLOOD_S = Number(process.argv[2] ?? 15);
const TARGET_MB = 300;
// MCPFLEET_BENCH_BIN: another checkout's controller/cli/bin.js, to measure it the same way.
const BIN =
  process.env.MCPFLEET_BENCH_BIN ??
  fileURLToPath(new URL('../controller/cli/bin.js', import.meta.url));
// MCPFLEET_BENCH_FLOODS: a |-separated subset of the floods' names (default: all).
const ONLY = process.env.MCPFLEET_BENCH_FLOODS?.split('|');
const HOSTILE = fileURLToPath(new URL('../test/fixtures/hostile-server.ts', import.meta.url));
const mb = (kb: number) => Math.round(kb / 102.4) / 10;

interface Flood {
  name: string;
  habits: string;
  /** Whether the bench reads the controller's stdout (a log collector) or leaves it full. */
  readLog: boolean;
  /** What a client does to the server once it is awake. */
  drive?: (base: string, deadline: number) => Promise<void>;
}

const FLOODS: Flood[] = [
  { name: 'stderr-flood', habits: 'stderr-flood', readLog: true },
  { name: 'stderr-flood, log not read', habits: 'stderr-flood', readLog: false },
  { name: 'stdout-garbage', habits: 'stdout-garbage', readLog: true },
  {
    name: 'notifications to a client that does not read',
    habits: '',
    readLog: true,
    drive: notify,
  },
  { name: 'huge-lines (100 MB answers)', habits: '', readLog: true, drive: hugeAnswers },
  { name: 'endless-line', habits: 'endless-line', readLog: true, drive: wakeAgain },
];

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN);
}

/** User + system CPU seconds of `pid` so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function postMcp(url: string, body: unknown, sessionId?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
    },
    body: JSON.stringify(body),
  });
}

async function openSession(url: string): Promise<string> {
  const init = await postMcp(url, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'flood-bench', version: '1' },
    },
  });
  const sessionId = init.headers.get('mcp-session-id');
  await init.text();
  if (!sessionId) throw new Error(`initialize answered ${init.status} without a session`);
  await (
    await postMcp(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId)
  ).text();
  return sessionId;
}

/** A session whose client asks for an endless flood of notifications and reads nothing. */
async function notify(base: string, deadline: number): Promise<void> {
  const url = `${base}/servers/hostile/mcp`;
  const sessionId = await openSession(url);
  const { port, hostname } = new URL(base);
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'flood', arguments: {} },
  });
  const socket: Socket = connect(Number(port), hostname);
  socket.pause(); // never read
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST /servers/hostile/mcp HTTP/1.1\r\nhost: ${hostname}:${port}\r\n` +
      'content-type: application/json\r\naccept: application/json, text/event-stream\r\n' +
      `mcp-session-id: ${sessionId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  await sleep(deadline - Date.now());
  socket.destroy();
}

/** 100 MB answers, one after another, until the deadline. */
async function hugeAnswers(base: string, deadline: number): Promise<void> {
  const url = `${base}/servers/hostile/mcp`;
  const sessionId = await openSession(url);
  for (let id = 1; Date.now() < deadline; id++) {
    const res = await postMcp(
      url,
      {
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'huge', arguments: { bytes: 100_000_000 } },
      },
      sessionId,
    );
    const text = await res.text();
    if (!text.includes('-32010')) throw new Error(`huge answered ${text.slice(0, 200)}`);
  }
}

/**
 * A server whose stdout never ends a line can never answer initialize: its wakes fail. Woken
 * again and again, so that its flood goes on for the whole run.
 */
async function wakeAgain(base: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    await (await fetch(`${base}/api/v1/servers/hostile/wake`, { method: 'POST' })).text();
  }
}

async function hostileSpec(habits: string): Promise<WorkloadSpec> {
  const template = await registrySpec('everything');
  return {
    ...template,
    slug: 'hostile',
    name: 'io.example/hostile',
    transport: { type: 'stdio' },
    env: habits ? { HOSTILE: habits } : {},
    args: [],
    local: { runnable: true, command: process.execPath, args: [HOSTILE], requires: [] },
  };
}

async function metric(base: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const match of text.matchAll(pattern)) sum += Number(match[1]);
  return sum;
}

async function run(flood: Flood) {
  const dir = mkdtempSync(join(tmpdir(), 'mcpfleet-flood-bench-'));
  writeFileSync(join(dir, 'specs.json'), JSON.stringify([await hostileSpec(flood.habits)]));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const controller: ChildProcess = spawn(
    process.execPath,
    [BIN, 'serve', '--registry', dir, '--port', String(port), '--data-dir', 'memory://'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MCPFLEET_LOG_FORMAT: 'json' } },
  );
  let logBytes = 0;
  if (flood.readLog) controller.stdout!.on('data', (chunk: Buffer) => (logBytes += chunk.length));
  else controller.stdout!.pause(); // a full pipe: the controller's log goes nowhere
  const pid = controller.pid!;
  try {
    await until(async () => (await fetch(`${base}/healthz`)).ok, 60_000, 'the controller');
    await sleep(2000); // settled: the embedded store and the first requests are behind it
    const idleKb = status(pid, 'VmRSS');
    const cpuBefore = cpuSeconds(pid);
    const logBefore = logBytes;
    const started = Date.now();
    const deadline = started + FLOOD_S * 1000;
    let peakKb = idleKb;
    const sampler = setInterval(() => (peakKb = Math.max(peakKb, status(pid, 'VmRSS'))), 100);
    const woke = await fetch(`${base}/api/v1/servers/hostile/wake`, { method: 'POST' });
    const wake = { status: woke.status, message: (await woke.text()).slice(0, 300) };
    await flood.drive?.(base, deadline);
    await sleep(deadline - Date.now());
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    const server = (await (await fetch(`${base}/api/v1/servers/hostile`)).json()) as {
      state: string;
      healthMark: string | null;
    };
    return {
      flood: flood.name,
      wake: wake.status === 200 ? 'ok' : wake,
      idleRssMB: mb(idleKb),
      peakRssMB: mb(peakKb),
      peakOverIdleMB: mb(peakKb - idleKb),
      vmHwmMB: mb(status(pid, 'VmHWM')),
      withinTarget: mb(status(pid, 'VmHWM')) <= TARGET_MB,
      cpuSecondsPerSecond: Math.round(((cpuSeconds(pid) - cpuBefore) / seconds) * 100) / 100,
      logKBPerSecond: flood.readLog
        ? Math.round((logBytes - logBefore) / 1024 / seconds)
        : 'not read',
      outputLinesDropped: await metric(
        base,
        /^mcpfleet_server_output_dropped_total\{[^}]*\} (\d+)$/gm,
      ),
      logLinesDropped: await metric(base, /^mcpfleet_log_lines_dropped_total (\d+)$/gm),
      state: server.state,
      healthMark: server.healthMark,
    };
  } finally {
    controller.kill('SIGTERM');
    const exited = new Promise((resolve) => controller.once('exit', resolve));
    const killer = setTimeout(() => controller.kill('SIGKILL'), 15_000);
    controller.stdout!.resume(); // a controller blocked on its log can exit
    await exited;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const flood of FLOODS) {
  if (!ONLY || ONLY.includes(flood.name)) results.push(await run(flood));
}
console.log(
  JSON.stringify(
    {
      benchmark: 'flood-rss',
      floodSeconds: FLOOD_S,
      targetPeakMB: TARGET_MB,
      allWithinTarget: results.every((r) => r.withinTarget),
      results,
    },
    null,
    2,
  ),
);
