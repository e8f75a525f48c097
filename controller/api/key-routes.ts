// /api/v1/keys (admin only, checked by the caller): POST issues a key, answering it once;
// GET lists them (never a secret); DELETE /api/v1/keys/<id> revokes one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiKeyError, type ApiKeys, type NewKeyRequest } from '../auth/keys/api-keys.ts';
import { ROLES, type Role } from '../auth/principal.ts';
import { BodyTimeoutError, BodyTooLargeError, readBody } from '../gateway/read-body.ts';
import { ApiKeyNameTakenError } from '../store/store.ts';
import { sendApiError, sendJson } from './send-json.ts';
import type { CreatedApiKey } from './types.ts';

const MAX_BODY_BYTES = 16 * 1024;
const BODY_TIMEOUT_MS = 10_000;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface KeyRouteContext {
  keys: ApiKeys | undefined;
  /** Whether a server slug is in the registry (a key limited to unknown servers is a typo). */
  hasServer: (slug: string) => boolean;
  /** Told the id of a key just issued (the audit record names it). */
  onCreated?: (id: string) => void;
}

/** `rest`: the path parts after "keys". */
export async function handleKeyRoute(
  req: IncomingMessage,
  res: ServerResponse,
  rest: readonly string[],
  context: KeyRouteContext,
): Promise<void> {
  const method = req.method ?? 'GET';
  const { keys } = context;
  if (!keys) {
    sendApiError(res, 503, 'keys-unavailable', 'API keys are not set up on this controller');
    return;
  }
  try {
    if (rest.length === 0 && (method === 'GET' || method === 'HEAD')) {
      sendJson(res, 200, { keys: await keys.list() });
      return;
    }
    if (rest.length === 0 && method === 'POST') {
      const parsed = parseNewKey(await readJson(req), context.hasServer);
      if (typeof parsed === 'string') {
        sendApiError(res, 400, 'bad-key-request', parsed);
        return;
      }
      const { key, record } = await keys.create(parsed);
      context.onCreated?.(record.id);
      const created: CreatedApiKey = { key, ...record };
      sendJson(res, 201, created);
      return;
    }
    if (rest.length === 1 && method === 'DELETE') {
      sendJson(res, 200, await keys.revoke(decodeURIComponent(rest[0]!)));
      return;
    }
    if (rest.length <= 1) {
      res.setHeader('allow', rest.length === 0 ? 'GET, POST' : 'DELETE');
      sendApiError(res, 405, 'method-not-allowed', `${method} is not allowed here`);
      return;
    }
    sendApiError(res, 404, 'not-found', `No API route for ${method} ${req.url}`);
  } catch (err) {
    if (err instanceof ApiKeyError) sendApiError(res, err.status, err.code, err.message);
    else if (err instanceof ApiKeyNameTakenError) {
      sendApiError(res, 409, 'key-name-taken', err.message);
    } else if (err instanceof BodyTooLargeError) {
      sendApiError(res, 413, 'body-too-large', err.message);
    } else if (err instanceof BodyTimeoutError) {
      sendApiError(res, 408, 'body-timeout', err.message);
    } else if (err instanceof SyntaxError) {
      sendApiError(res, 400, 'bad-json', `The body is not JSON: ${err.message}`);
    } else throw err;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, MAX_BODY_BYTES, BODY_TIMEOUT_MS);
  return JSON.parse(body.toString('utf8')) as unknown;
}

/** The request, or what is wrong with it. */
export function parseNewKey(
  body: unknown,
  hasServer: (slug: string) => boolean,
): NewKeyRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'Send a JSON object: { "name", "role", "servers"?, "expiresAt"? }';
  }
  const { name, role, servers, expiresAt } = body as Record<string, unknown>;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    return '"name" must be 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit';
  }
  if (typeof role !== 'string' || !ROLES.includes(role as Role)) {
    return `"role" must be one of ${ROLES.join(', ')}`;
  }
  let limited: string[] | null = null;
  if (servers !== undefined && servers !== null) {
    if (!Array.isArray(servers) || servers.length === 0) {
      return '"servers" must be a non-empty array of server slugs (omit it for any server)';
    }
    const unknown = servers.filter((s) => typeof s !== 'string' || !hasServer(s));
    if (unknown.length > 0) return `Unknown server(s): ${unknown.map(String).join(', ')}`;
    limited = [...new Set(servers as string[])];
  }
  let expires: Date | null = null;
  if (expiresAt !== undefined && expiresAt !== null) {
    expires = typeof expiresAt === 'string' ? new Date(expiresAt) : new Date(NaN);
    if (Number.isNaN(expires.getTime())) return '"expiresAt" must be an ISO-8601 time';
    if (expires.getTime() <= Date.now()) return '"expiresAt" must be in the future';
  }
  return { name, role: role as Role, servers: limited, expiresAt: expires };
}
