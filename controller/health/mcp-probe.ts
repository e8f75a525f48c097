// A real MCP round trip against one replica: initialize (once per probe session) then
// ping. Readiness on wake and the periodic health check both use it, so "ready" means the
// server answered MCP, not merely that a port was open. A server of revision 2026-07-28
// only (it refuses initialize with -32022) is probed with `server/discover` instead.
import { LATEST_PROTOCOL_VERSION } from '../bridge/stdio-bridge.ts';
import { formatDuration } from '../../registry/catalog/duration.ts';
import { discoverServer } from '../eras/backend-eras.ts';
import { UNSUPPORTED_PROTOCOL_VERSION, envelopeFromInitialize } from '../eras/protocol-eras.ts';
import {
  findReply,
  isConnectionError,
  postMessage,
  type RpcReply,
} from '../mcp-client/post-message.ts';

export { isConnectionError };

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
  /** True when nothing answered at all (connection refused): worth retrying during a wake. */
  unreachable?: boolean;
}

const PROBE_INITIALIZE = {
  protocolVersion: LATEST_PROTOCOL_VERSION,
  capabilities: {},
  clientInfo: { name: 'mcpfleet-health', version: '1' },
};
const PROBE_ENVELOPE = envelopeFromInitialize(PROBE_INITIALIZE, undefined);

export class McpProbe {
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private sessionId: string | undefined;
  private initialized = false;
  /** The server refused a 2025 initialize: it speaks only the sessionless era. */
  private modernOnly = false;
  private nextId = 1;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.url = url;
    this.headers = headers;
  }

  /** initialize (if this probe has no live session yet) + ping, within `timeoutMs`. */
  async check(timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      if (!this.initialized && !this.modernOnly) await this.initialize(combined);
      if (this.modernOnly) {
        await discoverServer(this.url, this.headers, PROBE_ENVELOPE);
        return { ok: true, latencyMs: performance.now() - started };
      }
      const reply = await this.rpc('ping', {}, combined);
      if (reply === 'session-lost') {
        this.reset();
        return {
          ok: false,
          latencyMs: performance.now() - started,
          error: 'probe session lost (server restarted?)',
        };
      }
      // Any JSON-RPC answer to ping (even an error) proves the server is speaking MCP.
      return { ok: true, latencyMs: performance.now() - started };
    } catch (err) {
      const latencyMs = performance.now() - started;
      if (timeout.aborted)
        return { ok: false, latencyMs, error: `no answer within ${formatDuration(timeoutMs)}` };
      const unreachable = isConnectionError(err);
      return {
        ok: false,
        latencyMs,
        error: errorText(err),
        ...(unreachable ? { unreachable } : {}),
      };
    }
  }

  /** Ends the probe's MCP session (best effort). */
  async close(): Promise<void> {
    if (this.sessionId === undefined) return;
    const sessionId = this.sessionId;
    this.reset();
    await fetch(this.url, {
      method: 'DELETE',
      headers: { ...this.headers, 'mcp-session-id': sessionId },
      signal: AbortSignal.timeout(1000),
    }).catch(() => {});
  }

  private reset(): void {
    this.sessionId = undefined;
    this.initialized = false;
  }

  private async initialize(signal: AbortSignal): Promise<void> {
    this.sessionId = undefined;
    const reply = await this.rpc('initialize', PROBE_INITIALIZE, signal);
    if (reply === 'session-lost') throw new Error('initialize answered 404');
    if (reply.error?.code === UNSUPPORTED_PROTOCOL_VERSION) {
      this.modernOnly = true;
      return;
    }
    if (reply.error)
      throw new Error(`initialize failed: ${reply.error.message ?? JSON.stringify(reply.error)}`);
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' }, signal);
    this.initialized = true;
  }

  private async rpc(
    method: string,
    params: unknown,
    signal: AbortSignal,
  ): Promise<RpcReply | 'session-lost'> {
    const id = this.nextId++;
    const res = await this.post({ jsonrpc: '2.0', id, method, params }, signal);
    if (res.status === 404 && this.sessionId !== undefined) {
      await res.body?.cancel();
      return 'session-lost';
    }
    const minted = res.headers.get('mcp-session-id');
    if (minted) this.sessionId = minted;
    const text = await res.text();
    const reply = findReply(text, res.headers.get('content-type') ?? '', id);
    if (reply) return reply;
    throw new Error(
      `HTTP ${res.status} without a JSON-RPC answer${text ? `: ${text.slice(0, 200)}` : ''}`,
    );
  }

  private post(message: unknown, signal: AbortSignal): Promise<Response> {
    return postMessage(this.url, message, {
      headers: this.headers,
      sessionId: this.sessionId,
      signal,
    });
  }
}

function errorText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const base = err instanceof Error ? err.message : String(err);
  return cause?.code ? `${base} (${cause.code})` : base;
}
