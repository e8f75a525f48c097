// Refusals of the access gate, as RFC 6750 §3 and the MCP authorization spec want them: a
// `WWW-Authenticate: Bearer` challenge naming the resource's metadata (RFC 9728 §5.1), the
// error and the scope needed, and a body the caller's protocol understands — a JSON-RPC error
// on the MCP endpoints, the API's JSON error on /api/v1.
import type { ServerResponse } from 'node:http';
import { sendSurfaceError } from '../gateway/surface-error.ts';

export type ChallengeError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

export interface Challenge {
  /** Absent: no credential was presented (RFC 6750 §3.1: then no error code). */
  error?: ChallengeError;
  description: string;
  resourceMetadata: string;
  scopes: readonly string[];
}

const STATUS: Record<ChallengeError | 'missing', number> = {
  missing: 401,
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
};

/** A quoted-string of RFC 9110 §5.6.4: no quotes or backslashes unescaped, no controls. */
function quoted(value: string): string {
  let text = '';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    text += code < 0x20 || code === 0x7f ? ' ' : ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  }
  return `"${text}"`;
}

export function wwwAuthenticate(challenge: Challenge): string {
  const params = [`resource_metadata=${quoted(challenge.resourceMetadata)}`];
  if (challenge.scopes.length > 0) params.push(`scope=${quoted(challenge.scopes.join(' '))}`);
  if (challenge.error) {
    params.push(`error=${quoted(challenge.error)}`);
    params.push(`error_description=${quoted(challenge.description)}`);
  }
  return `Bearer ${params.join(', ')}`;
}

export function sendChallenge(
  res: ServerResponse,
  challenge: Challenge,
  surface: 'mcp' | 'api',
  requestId: string,
): void {
  const status = STATUS[challenge.error ?? 'missing'];
  const headers = { 'www-authenticate': wwwAuthenticate(challenge), 'x-request-id': requestId };
  sendSurfaceError(res, surface, {
    status,
    code: status === 403 ? 'forbidden' : status === 400 ? 'invalid-request' : 'unauthorized',
    message: challenge.description,
    rpcMessage: `${statusText(status)}: ${challenge.description}`,
    data: { reason: challenge.error ?? 'unauthorized' },
    headers,
  });
}

function statusText(status: number): string {
  return status === 403 ? 'Forbidden' : status === 400 ? 'Bad request' : 'Unauthorized';
}
