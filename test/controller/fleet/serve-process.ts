// A real controller: `mcpfleet serve` as a process over a registry of compiled specs (a shard
// directory, as a cluster's ConfigMap holds them), plus raw MCP calls through its gateway that
// return every JSON-RPC message of the reply, JSON or SSE, so tests see exactly how a call
// ended (its answer, an error, or nothing).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import type { ServerSpec } from '../../../registry/catalog/spec.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { waitFor } from '../support/processes.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

export interface ServeProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  base: string;
  /** What it printed so far, stdout and stderr. */
  output(): string;
  /** Its exit code (null: a signal), whenever it comes. */
  exited: Promise<number | null>;
  /** SIGKILL if still running, and the registry directory removed. */
  cleanup(): Promise<void>;
}

/** Starts `mcpfleet serve --port 0` on `specs` with `args`; resolves once it listens. */
export async function startServe(specs: ServerSpec[], args: string[]): Promise<ServeProcess> {
  const registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-serve-process-'));
  await writeFile(path.join(registry, 'specs.json'), JSON.stringify(specs));
  return spawnServe(['--registry', registry, ...args], registry);
}

/** `mcpfleet serve --port 0 <args>` (a registry among them); resolves once it listens or exits. */
export async function spawnServe(args: string[], registryToRemove?: string): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    ['controller/cli/bin.js', 'serve', '--port', '0', '--log-format', 'json', ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let done = false;
  void exited.then(() => (done = true));
  const cleanup = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    if (registryToRemove) await rm(registryToRemove, { recursive: true, force: true });
  };
  await waitFor(() => done || /listening on http:\/\//.test(out), 60_000, 'the serve banner');
  const base = /listening on (http:\/\/\S+)/.exec(out)?.[1] ?? '';
  return { child, base, output: () => out, exited, cleanup };
}

/** One JSON-RPC message of a reply. */
export interface RpcMessage {
  id?: string | number | null;
  method?: string;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

export interface McpReply {
  status: number;
  sessionId: string | undefined;
  /** Every JSON-RPC message of the body: the JSON one, or each SSE `data:`. */
  messages: RpcMessage[];
}

const ACCEPT = 'application/json, text/event-stream';

/** POSTs `body` to `url` (in `sessionId`, if given) and reads the whole reply. */
export async function postMcp(url: string, body: string, sessionId?: string): Promise<McpReply> {
  const reply = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: ACCEPT,
      'mcp-protocol-version': '2025-06-18',
      ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
    },
    body,
  });
  const text = await reply.body.text();
  const type = String(reply.headers['content-type'] ?? '');
  const messages: RpcMessage[] = type.includes('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => JSON.parse(line.slice(5)) as RpcMessage)
    : text
      ? [JSON.parse(text) as RpcMessage]
      : [];
  const session = reply.headers['mcp-session-id'];
  return {
    status: reply.statusCode,
    sessionId: typeof session === 'string' ? session : sessionId,
    messages,
  };
}

/** initialize + notifications/initialized: the session id to call tools in. */
export async function openSession(url: string): Promise<string> {
  const init = await postMcp(url, initializeBody(1));
  if (init.status !== 200 || !init.sessionId)
    throw new Error(`initialize answered ${init.status}: ${JSON.stringify(init.messages)}`);
  await postMcp(
    url,
    JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    init.sessionId,
  );
  return init.sessionId;
}

/** A tools/call of `name` with `args`, id `id`. */
export function toolCall(id: number, name: string, args: Record<string, unknown>): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: args },
  });
}

/** The message answering request `id`, if the reply has one. */
export function answerTo(reply: McpReply, id: number): RpcMessage | undefined {
  return reply.messages.find((m) => m.id === id && (m.result !== undefined || m.error));
}
