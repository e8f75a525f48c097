// How one request crosses between protocol eras, decided once the gateway knows its backend:
// sent as it came (same era, the common case), answered here, or forwarded rewritten.
//
// - A 2026-07-28 client of a 2025 server: the request goes into a backend session the
//   gateway holds for that envelope (legacy-sessions.ts); `server/discover` is answered from
//   that session's initialize result; results gain the fields the modern era requires.
// - A 2025 client of a 2026-07-28-only server: the gateway answers `initialize` from the
//   server's `server/discover` and keeps the session itself (the fleet's session record,
//   marked backendEra 'modern'); each later request carries the envelope built from the
//   client's initialize and log level, with the Mcp-Method / Mcp-Name headers.
import type { Upstream } from '../fleet/fleet.ts';
import type { MessagePeek } from '../gateway/jsonrpc.ts';
import type { Logger } from '../observability/log.ts';
import { findReply } from '../mcp-client/post-message.ts';
import type { RequestEra } from './classify-request.ts';
import { BackendEras, discoverServer } from './backend-eras.ts';
import { LegacySessions } from './legacy-sessions.ts';
import type { MessageRewrite } from './message-rewrite.ts';
import {
  META,
  METHOD_NOT_FOUND,
  MODERN_REVISION,
  MODERN_VERSIONS,
  NAMED_METHODS,
  UNSUPPORTED_PROTOCOL_VERSION,
  envelopeFromInitialize,
  isObject,
  metaOf,
  negotiatedLegacyVersion,
} from './protocol-eras.ts';

/** A reply the gateway writes itself: a JSON-RPC message (or none, for 202/405). */
export interface LocalAnswer {
  kind: 'answer';
  status: number;
  message?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** A 2025 initialize answered for a modern-only server: open the client's session. */
  opensSession?: Record<string, unknown>;
  /** A DELETE of a translated session: it ends here. */
  closesSession?: boolean;
}

export interface Forward {
  kind: 'forward';
  body: Buffer | undefined;
  /** Headers to set on the upstream request; undefined removes one. */
  headers: Record<string, string | undefined>;
  /** Results rewritten for the client's era on the way back. */
  rewrite?: MessageRewrite;
  /** The backend answered 404 for the session the gateway chose: forget it, try once more. */
  onLost?: () => void;
  /** The backend's session is the gateway's, not the client's: never show its id. */
  hideSession?: boolean;
}

/** Results the 2026-07-28 era lets clients cache: they must say for how long, and for whom. */
const CACHEABLE_METHODS = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);

export type Plan = { kind: 'native' } | LocalAnswer | Forward;

export interface PlanInput {
  method: 'POST' | 'GET' | 'DELETE';
  era: RequestEra;
  peek: MessagePeek | undefined;
  body: Buffer | undefined;
  upstream: Upstream;
  /** The client's MCP-Session-Id, if it sent one. */
  clientSession: string | undefined;
  /** Who sent it (sessions/client-key.ts): backend sessions held for clients are theirs alone. */
  client?: string;
}

const NATIVE: Plan = { kind: 'native' };

export class EraTranslation {
  readonly backends = new BackendEras();
  private readonly legacySessions: LegacySessions;

  constructor(logger: Logger) {
    this.legacySessions = new LegacySessions(logger.child({ component: 'eras' }));
  }

  async plan(input: PlanInput): Promise<Plan> {
    const { era, upstream } = input;
    if (era.era === 'modern') {
      if (await this.backends.speaksModern(upstream.url, upstream.headers)) return NATIVE;
      return this.modernToLegacy(input, era);
    }
    if (upstream.session?.backendEra === 'modern') return this.legacyToModern(input);
    if (
      input.peek?.isInitialize &&
      input.clientSession === undefined &&
      this.backends.isModernOnly(upstream.url)
    )
      return this.answerInitialize(input);
    return NATIVE;
  }

  /**
   * A 2025 initialize that a backend refused with -32022 naming only modern revisions:
   * the backend is modern-only, and the gateway answers for it from now on.
   */
  async refusedAsLegacy(input: PlanInput, bytes: Buffer): Promise<LocalAnswer | undefined> {
    if (!input.peek?.isInitialize) return undefined;
    const id = input.peek.id;
    const reply = id === null ? undefined : findReply(bytes.toString('utf8'), 'json', id);
    const supported = (reply?.error as { data?: { supported?: unknown } } | undefined)?.data
      ?.supported;
    if (reply?.error?.code !== UNSUPPORTED_PROTOCOL_VERSION || !Array.isArray(supported))
      return undefined;
    if (!supported.some((v) => MODERN_VERSIONS.includes(v as string))) return undefined;
    this.backends.markModernOnly(input.upstream.url);
    return this.answerInitialize(input);
  }

  private async answerInitialize(input: PlanInput): Promise<LocalAnswer> {
    const call = input.peek!.calls.find((c) => c.method === 'initialize')!;
    const params = (isObject(call.params) ? call.params : {}) as Record<string, unknown>;
    const discovered = await discoverServer(
      input.upstream.url,
      input.upstream.headers,
      envelopeFromInitialize(params, undefined),
    );
    const serverInfo = metaOf(discovered)?.[META.serverInfo];
    return {
      kind: 'answer',
      status: 200,
      message: {
        jsonrpc: '2.0',
        id: input.peek!.id,
        result: {
          protocolVersion: negotiatedLegacyVersion(params.protocolVersion),
          capabilities: isObject(discovered.capabilities) ? discovered.capabilities : {},
          serverInfo: isObject(serverInfo) ? serverInfo : { name: 'unknown', version: '0' },
          ...(typeof discovered.instructions === 'string'
            ? { instructions: discovered.instructions }
            : {}),
        },
      },
      opensSession: params,
    };
  }

  private legacyToModern(input: PlanInput): Plan {
    const { peek, upstream } = input;
    if (input.method === 'GET')
      // The modern era has no standalone stream; 405 tells a 2025 client to go without.
      return { kind: 'answer', status: 405, headers: { allow: 'POST, DELETE' } };
    if (input.method === 'DELETE') return { kind: 'answer', status: 200, closesSession: true };
    if (!peek || peek.batch)
      return errorAnswer(400, null, -32600, 'This server speaks revision 2026-07-28: no batches');
    const call = peek.calls[0];
    if (call === undefined || call.method === 'notifications/initialized')
      return { kind: 'answer', status: 202 };
    if (call.method === 'logging/setLevel')
      // Kept in the session record (the gateway's own), sent in every envelope from now on.
      return { kind: 'answer', status: 200, message: { jsonrpc: '2.0', id: peek.id, result: {} } };
    const session = upstream.session!;
    // The one message, rebuilt from the gateway's peek (already parsed) with the envelope.
    const params = isObject(call.params) ? call.params : {};
    const message = {
      jsonrpc: '2.0',
      ...(peek.notification ? {} : { id: peek.id }),
      method: call.method,
      params: {
        ...params,
        _meta: {
          ...metaOf(params),
          ...envelopeFromInitialize(session.initialize, session.logLevel),
        },
      },
    };
    const field = NAMED_METHODS[call.method];
    const name = field === undefined ? undefined : params[field];
    return {
      kind: 'forward',
      body: Buffer.from(JSON.stringify(message)),
      headers: {
        'mcp-protocol-version': MODERN_REVISION,
        'mcp-method': call.method,
        'mcp-name': typeof name === 'string' ? name : undefined,
        'mcp-session-id': undefined,
      },
    };
  }

  private async modernToLegacy(
    input: PlanInput,
    era: Extract<RequestEra, { era: 'modern' }>,
  ): Promise<Plan> {
    const { upstream } = input;
    const id = input.peek!.id;
    if (era.method === 'subscriptions/listen')
      return errorAnswer(
        404,
        id,
        METHOD_NOT_FOUND,
        'subscriptions/listen is not available: this server speaks a 2025 revision, whose ' +
          'notifications travel on a session stream the gateway cannot open for you',
      );
    const session = await this.legacySessions.get(
      upstream.url,
      upstream.headers,
      era.envelope,
      input.client,
    );
    const serverInfo = session.initializeResult.serverInfo;
    if (era.method === 'server/discover') {
      const init = session.initializeResult;
      return {
        kind: 'answer',
        status: 200,
        message: {
          jsonrpc: '2.0',
          id,
          result: {
            supportedVersions: [...MODERN_VERSIONS],
            capabilities: isObject(init.capabilities) ? init.capabilities : {},
            ...(typeof init.instructions === 'string' ? { instructions: init.instructions } : {}),
            resultType: 'complete',
            ttlMs: 0,
            cacheScope: 'private',
            _meta: { [META.serverInfo]: serverInfo },
          },
        },
      };
    }
    return {
      kind: 'forward',
      body: input.body,
      headers: {
        'mcp-session-id': session.sessionId || undefined,
        'mcp-protocol-version': session.protocolVersion,
      },
      rewrite: (message) => modernResult(message, era.method, serverInfo),
      onLost: () => this.legacySessions.forget(upstream.url, era.envelope, input.client),
      hideSession: true,
    };
  }
}

/**
 * A 2025 result as revision 2026-07-28 words it (the SDK's encode contract): a resultType;
 * on cacheable results a ttlMs and cacheScope — 0 and private, since a 2025 server said
 * nothing about caching; and who answered, in `_meta`.
 */
function modernResult(
  message: Record<string, unknown>,
  method: string,
  serverInfo: unknown,
): Record<string, unknown> {
  if (!isObject(message.result)) return message;
  const result = message.result;
  const cacheable = CACHEABLE_METHODS.has(method);
  return {
    ...message,
    result: {
      ...result,
      resultType: result.resultType ?? 'complete',
      ...(cacheable
        ? { ttlMs: result.ttlMs ?? 0, cacheScope: result.cacheScope ?? 'private' }
        : {}),
      _meta: {
        ...metaOf(result),
        ...(isObject(serverInfo) ? { [META.serverInfo]: serverInfo } : {}),
      },
    },
  };
}

function errorAnswer(
  status: number,
  id: MessagePeek['id'],
  code: number,
  message: string,
): LocalAnswer {
  return { kind: 'answer', status, message: { jsonrpc: '2.0', id, error: { code, message } } };
}
