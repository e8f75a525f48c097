// JSON-RPC framing the gateway needs: error bodies it writes itself, and a peek at the
// messages of a POST (shape check + method names) without interpreting anything else.
// The proxy forwards the original bytes; this only decides whether they are worth sending.

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INTERNAL_ERROR = -32603;
/** Implementation-defined server error range (-32000..-32099): gateway refusals. */
export const SERVER_ERROR = -32000;
/** What the MCP TypeScript SDK answers for an unknown session; clients recognise it. */
export const SESSION_NOT_FOUND = -32001;

export type JsonRpcId = string | number | null;

/** `{"jsonrpc":"2.0","id":...,"error":{code,message[,data]}}`, e.g. one answer of a batch. */
export function jsonRpcError(
  id: JsonRpcId,
  code: number,
  message: string,
  data?: Record<string, unknown>,
): Record<string, unknown> {
  const error = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id, error };
}

/** jsonRpcError as a string. */
export function jsonRpcErrorBody(
  id: JsonRpcId,
  code: number,
  message: string,
  data?: Record<string, unknown>,
): string {
  return JSON.stringify(jsonRpcError(id, code, message, data));
}

/** What the gateway learns from a POST body. */
export interface MessagePeek {
  /** Methods of the requests and notifications in the body (responses have none). */
  methods: string[];
  /** The id of a single request, for error replies; null for batches and notifications. */
  id: JsonRpcId;
  /** The body carries an `initialize` request: its response may mint a session. */
  isInitialize: boolean;
  /**
   * The requests and notifications with their params (sessions keep what a replay needs);
   * `id` on requests (absent on notifications), to match each to its answer.
   */
  calls: { method: string; params: unknown; id?: string | number }[];
  /** The body is a JSON array (a batch), even of one message. */
  batch: boolean;
  /** The body is one notification (a method and no id). */
  notification: boolean;
}

export type PeekResult =
  { ok: true; peek: MessagePeek } | { ok: false; code: number; message: string; id: JsonRpcId };

/**
 * Parses and shape-checks a POST body: one JSON-RPC 2.0 message or a non-empty batch of
 * them (requests, notifications, or responses to server-initiated requests).
 */
export function peekMessages(body: Buffer): PeekResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return {
      ok: false,
      code: PARSE_ERROR,
      message: 'Parse error: body is not valid JSON',
      id: null,
    };
  }
  const batch = Array.isArray(parsed);
  const messages: unknown[] = batch ? (parsed as unknown[]) : [parsed];
  if (messages.length === 0) {
    return { ok: false, code: INVALID_REQUEST, message: 'Invalid Request: empty batch', id: null };
  }
  const methods: string[] = [];
  const calls: MessagePeek['calls'] = [];
  for (const message of messages) {
    const problem = shapeProblem(message);
    if (problem) {
      const id = batch ? null : idOf(message);
      return { ok: false, code: INVALID_REQUEST, message: `Invalid Request: ${problem}`, id };
    }
    const method = (message as { method?: unknown }).method;
    if (typeof method === 'string') {
      methods.push(method);
      const { params, id } = message as { params?: unknown; id?: string | number };
      calls.push(id === undefined ? { method, params } : { method, params, id });
    }
  }
  const duplicate = duplicateRequestIdProblem(messages);
  if (duplicate) return { ok: false, code: INVALID_REQUEST, message: duplicate, id: null };
  return {
    ok: true,
    peek: {
      methods,
      id: batch ? null : idOf(parsed),
      isInitialize: methods.includes('initialize'),
      calls,
      batch,
      notification: !batch && methods.length === 1 && !('id' in (parsed as object)),
    },
  };
}

/**
 * Why a batch cannot be answered: two of its requests share an id. JSON-RPC 2.0 matches each
 * response to its request by id alone, so such a batch has no answer a client could read
 * (one of the two would be lost or misattributed), and MCP forbids reusing a request id within
 * a session. Streamable HTTP's rule for input a server cannot accept applies: HTTP 400 with one
 * error that has no id, and nothing reaches the server, so no request of it half-runs. A
 * request and a response (to a server's request) may share an id: they are two id spaces.
 */
export function duplicateRequestIdProblem(messages: readonly unknown[]): string | undefined {
  const seen = new Set<string>();
  for (const message of messages) {
    const m = message as { id?: unknown; method?: unknown };
    if (typeof m.method !== 'string' || !isValidId(m.id)) continue;
    // 1 and "1" are different ids; JSON.stringify keeps them apart.
    const key = JSON.stringify(m.id);
    if (seen.has(key))
      return `Invalid Request: id ${key} is used by more than one request of this batch; each request needs an id of its own`;
    seen.add(key);
  }
  return undefined;
}

function shapeProblem(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return 'a message must be a JSON object';
  }
  const m = message as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return '"jsonrpc" must be "2.0"';
  if ('id' in m && !isValidId(m.id)) return '"id" must be a string or a number';
  if ('method' in m) {
    if (typeof m.method !== 'string' || m.method === '') {
      return '"method" must be a non-empty string';
    }
    if ('params' in m && (typeof m.params !== 'object' || m.params === null)) {
      return '"params" must be an object or an array';
    }
    return undefined;
  }
  // No method: a response to a server-initiated request (sampling, elicitation, roots...).
  if (!('id' in m)) return 'a message needs a "method" (request) or an "id" (response)';
  if (!('result' in m) && !('error' in m)) return 'a response needs "result" or "error"';
  return undefined;
}

function isValidId(id: unknown): id is string | number {
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

function idOf(message: unknown): JsonRpcId {
  if (typeof message !== 'object' || message === null) return null;
  const id = (message as { id?: unknown }).id;
  return isValidId(id) ? id : null;
}
