// A stdio MCP server wrapper for the cluster benches: runs the real server (the argv after this
// script) as its child, passes stdin and stdout through line by line, and appends what it saw,
// with wall-clock times, to the JSON-lines file named by BENCH_TIMESTAMPS. Times are
// performance.timeOrigin + performance.now() (ms with fractions), comparable with the bench
// process's wallNow() on the same host. Each line is { pod, pid, event, t, method? }:
//   start          this wrapper began (its timeOrigin)
//   able           the child answered the wrapper's own ping, written to it at spawn: from here
//                  on the server can answer (MCP allows ping before initialize)
//   ping-answered  an answer to a ping from outside (the fleet's readiness check) went out
//   request        any other request came in (the first one is the first routed request)
//   answered       that request's answer went out
// Timestamps are taken before the line is passed on; the file is written after.
// Usage (as a bridge's child): node timestamped-stdio.ts <command> [args...]
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [command, ...args] = process.argv.slice(2);
if (!command) throw new Error('usage: timestamped-stdio.ts <command> [args...]');
const file = process.env.BENCH_TIMESTAMPS;
const fd = file ? openSync(file, 'a') : undefined;
const pod = process.env.POD_NAME ?? '';
const now = () => performance.timeOrigin + performance.now();
const OWN_PING = '__bench_able__';

function log(event: string, t: number, method?: string): void {
  if (fd === undefined) return;
  writeSync(fd, JSON.stringify({ pod, pid: process.pid, event, t, method }) + '\n');
}
log('start', performance.timeOrigin);

const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: OWN_PING, method: 'ping' }) + '\n');

/** Requests from outside waiting for their answer: JSON id → method. */
const pending = new Map<string, string>();

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const t = now();
    child.stdin.write(line + '\n');
    try {
      const msg = JSON.parse(line) as { id?: unknown; method?: unknown };
      if (msg.id === undefined || typeof msg.method !== 'string') return;
      pending.set(JSON.stringify(msg.id), msg.method);
      if (msg.method !== 'ping') log('request', t, msg.method);
    } catch {
      /* not JSON: passed on as it is */
    }
  })
  .on('close', () => child.stdin.end());

createInterface({ input: child.stdout }).on('line', (line) => {
  const t = now();
  let id: string | undefined;
  try {
    const msg = JSON.parse(line) as { id?: unknown; method?: unknown };
    if (msg.id !== undefined && msg.method === undefined) id = JSON.stringify(msg.id);
  } catch {
    /* not JSON */
  }
  if (id === JSON.stringify(OWN_PING)) {
    log('able', t);
    return; // ours: not for the bridge
  }
  process.stdout.write(line + '\n');
  const method = id === undefined ? undefined : pending.get(id);
  if (method === undefined) return;
  pending.delete(id!);
  log(method === 'ping' ? 'ping-answered' : 'answered', t, method);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  if (fd !== undefined) closeSync(fd);
  process.exit(code ?? (signal ? 128 : 1));
});
