// Shared load helpers for the benchmarks: a raw Streamable HTTP MCP client (undici's
// request API, no SDK and no fetch: on 2 cores the load generator's own CPU cost would
// otherwise cap the throughput it can measure; it is identical for every target), latency percentiles,
// and process management for the targets under test.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const EVERYTHING_BIN = `${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

export interface Session {
  url: string;
  id: string | undefined;
}

/** The JSON-RPC reply with `id` from a JSON or SSE body. */
export function replyOf(
  text: string,
  id: number,
): { result?: unknown; error?: unknown } | undefined {
  const lines =
    text.startsWith('{') || text.startsWith('[')
      ? [text]
      : text
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5));
  for (const line of lines) {
    try {
      const msg = JSON.parse(line) as { id?: number };
      if (msg.id === id) return msg as { result?: unknown; error?: unknown };
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

let nextId = 1;

async function post(session: Session, message: unknown): Promise<{ status: number; text: string }> {
  const res = await request(session.url, {
    method: 'POST',
    headers: { ...HEADERS, ...(session.id ? { 'mcp-session-id': session.id } : {}) },
    body: JSON.stringify(message),
  });
  const minted = res.headers['mcp-session-id'];
  if (typeof minted === 'string') session.id = minted;
  return { status: res.statusCode, text: await res.body.text() };
}

export async function rpc(
  session: Session,
  method: string,
  params: unknown = {},
): Promise<unknown> {
  const id = nextId++;
  const { status, text } = await post(session, { jsonrpc: '2.0', id, method, params });
  const reply = replyOf(text, id);
  if (status >= 300 || !reply || reply.error)
    throw new Error(`${method}: HTTP ${status} ${text.slice(0, 200)}`);
  return reply.result;
}

export async function notify(session: Session, method: string): Promise<void> {
  await post(session, { jsonrpc: '2.0', method });
}

export async function openSession(url: string): Promise<Session> {
  const session: Session = { url, id: undefined };
  await rpc(session, 'initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'mcpfleet-bench', version: '1' },
  });
  await notify(session, 'notifications/initialized');
  return session;
}

export async function closeSession(session: Session): Promise<void> {
  if (!session.id) return;
  await fetch(session.url, { method: 'DELETE', headers: { 'mcp-session-id': session.id } })
    .then((r) => r.text())
    .catch(() => {});
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

export function summarize(latenciesMs: number[]): {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
} {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? NaN),
  };
}

/** Starts a target process in its own group; `stop` kills the group. */
export function startProcess(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; stop: () => Promise<void> } {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true,
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 3000);
    await exited;
    clearTimeout(timer);
  };
  process.once('exit', () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  return { child, stop };
}

/** Polls until an MCP session can be opened at `url`. */
export async function waitForMcp(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const session = await openSession(url);
      await closeSession(session);
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`${url} not ready: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
