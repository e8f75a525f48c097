// Brings a new backend to where the client's session was: the client's own initialize (same
// capabilities, client info and protocol version), notifications/initialized, then its log
// level and resource subscriptions. The backend mints a new session id; the client keeps its
// own (the gateway maps one to the other). What the replay cannot restore — state a server
// kept in memory for that session — is why servers can opt out (`sessions.resume: false`).
import type { Logger } from '../observability/log.ts';
import { findReply, postMessage } from '../mcp-client/post-message.ts';
import { saysBridgeLeaving } from '../bridge/bridge-leaving.ts';
import type { BackendBinding, SessionRecord } from './session-record.ts';

export interface ReplayTarget {
  url: string;
  headers: Record<string, string>;
  replicaId: string;
}

export class ReplayError extends Error {
  override name = 'ReplayError';
  /** The backend is a bridge on its way out (bridge-leaving.ts): another one may take it. */
  readonly backendLeaving: boolean;
  constructor(message: string, backendLeaving = false) {
    super(message);
    this.backendLeaving = backendLeaving;
  }
}

let replayCounter = 0;

export interface Replayed {
  binding: BackendBinding;
  protocolVersion: string | undefined;
  /** The backend's initialize result (undefined when nothing was replayed). */
  result?: Record<string, unknown>;
}

/** Replays `record` on `target`; resolves with the new binding. */
export async function replaySession(
  target: ReplayTarget,
  record: SessionRecord,
  signal: AbortSignal,
  logger: Logger,
): Promise<Replayed> {
  // A 2026-07-28 server keeps no session: every translated request carries the client's
  // envelope (built from the record), so any backend of it continues the session as is.
  if (record.backendEra === 'modern')
    return {
      binding: { replicaId: target.replicaId, sessionId: '' },
      protocolVersion: record.protocolVersion,
    };
  const id = `mcpfleet-resume-${++replayCounter}`;
  const res = await postMessage(
    target.url,
    { jsonrpc: '2.0', id, method: 'initialize', params: record.initialize },
    { headers: target.headers, signal },
  );
  const text = await res.text();
  const reply = findReply(text, res.headers.get('content-type') ?? '', id);
  if (!res.ok || !reply || reply.error) {
    const why = reply?.error?.message ?? (text.slice(0, 200) || `HTTP ${res.status}`);
    throw new ReplayError(`replaying initialize failed: ${why}`, saysBridgeLeaving(text));
  }
  const sessionId = res.headers.get('mcp-session-id') ?? '';
  const chosen = (reply.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
  const protocolVersion =
    typeof chosen === 'string' ? chosen : (record.protocolVersion ?? undefined);
  const send = async (message: Record<string, unknown>): Promise<void> => {
    const answer = await postMessage(target.url, message, {
      headers: target.headers,
      sessionId,
      protocolVersion,
      signal,
    });
    const body = await answer.text();
    if (!answer.ok) throw new ReplayError(`HTTP ${answer.status}: ${body.slice(0, 200)}`);
    const echo =
      'id' in message
        ? findReply(body, answer.headers.get('content-type') ?? '', message.id as string)
        : undefined;
    if (echo?.error) throw new ReplayError(echo.error.message ?? JSON.stringify(echo.error));
  };
  await send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  // What the client set up afterwards; a server that refuses one of these now is logged,
  // not fatal: the session itself is back.
  const extras: Record<string, unknown>[] = [
    ...(record.logLevel
      ? [{ method: 'logging/setLevel', params: { level: record.logLevel } }]
      : []),
    ...record.subscriptions.map((uri) => ({ method: 'resources/subscribe', params: { uri } })),
  ];
  for (const extra of extras) {
    try {
      await send({ jsonrpc: '2.0', id: `mcpfleet-resume-${++replayCounter}`, ...extra });
    } catch (err) {
      if (signal.aborted) throw err;
      logger.warn({ err, method: extra.method }, 'a replayed session setting was refused');
    }
  }
  return {
    binding: { replicaId: target.replicaId, sessionId },
    protocolVersion,
    result: (reply.result ?? {}) as Record<string, unknown>,
  };
}
