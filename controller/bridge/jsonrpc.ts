// The few JSON-RPC 2.0 shapes the bridge needs to route messages. The bridge never
// validates MCP semantics; it only tells requests, notifications and responses apart.

export type JsonRpcId = string | number;

export interface JsonRpcMessage {
  jsonrpc?: string;
  id?: JsonRpcId | null;
  method?: string;
  params?: { _meta?: { progressToken?: JsonRpcId }; [key: string]: unknown };
  result?: unknown;
  error?: unknown;
}

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INTERNAL_ERROR = -32603;
/** Implementation-defined server errors (-32000..-32099). */
export const SERVER_UNAVAILABLE = -32000;
export const SESSION_NOT_FOUND = -32001;
/** A message of the server's above the bridge's limit (maxMessageBytes): dropped. */
export const MESSAGE_TOO_LARGE = -32010;
/** The client left more than the bridge holds per request unread: the request was ended. */
export const CLIENT_NOT_READING = -32011;

/** A request expects a response: it has a method and an id. */
export function isRequest(message: JsonRpcMessage): boolean {
  return typeof message.method === 'string' && message.id !== undefined && message.id !== null;
}

export function isResponse(message: JsonRpcMessage): boolean {
  return message.method === undefined && ('result' in message || 'error' in message);
}

/** The serialized error response for `id` (null when the request could not be read). */
export function errorResponse(id: JsonRpcId | null, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}

/** Parses a POST body into messages; a batch (array) stays a list. Throws on bad JSON. */
export function parseBody(body: string): { messages: JsonRpcMessage[]; batch: boolean } {
  const parsed: unknown = JSON.parse(body);
  const batch = Array.isArray(parsed);
  const items = batch ? (parsed as unknown[]) : [parsed];
  if (items.length === 0) throw new Error('empty batch');
  for (const item of items) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new Error('a JSON-RPC message must be an object');
    }
  }
  return { messages: items as JsonRpcMessage[], batch };
}
