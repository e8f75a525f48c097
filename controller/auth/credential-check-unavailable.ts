// A credential that could not be checked because what holds the truth about it did not answer
// (the store behind API keys is down or too slow). That is neither the caller's fault (a 401
// would tell a good key's holder that the key is bad) nor a bug of ours (a 500): it is a 503
// the caller may retry after a moment, as a JSON-RPC error on the MCP endpoints and the API's
// JSON error on /api/v1.
import type { ServerResponse } from 'node:http';
import { sendSurfaceError } from '../gateway/surface-error.ts';

/** What a 503 suggests waiting before asking again: about a store reconnect attempt. */
export const CHECK_RETRY_AFTER_SECONDS = 5;

export class CredentialCheckUnavailable extends Error {
  readonly retryAfterSeconds = CHECK_RETRY_AFTER_SECONDS;

  /**
   * `what`: what could not be asked, named to the caller ("the API key store"); `cause` only
   * reaches the log (an unauthenticated caller learns no database address from it).
   */
  constructor(what: string, cause: unknown) {
    super(`the credential cannot be checked now: ${what} is unavailable; retry later`, { cause });
    this.name = 'CredentialCheckUnavailable';
  }
}

export function sendCheckUnavailable(
  res: ServerResponse,
  err: CredentialCheckUnavailable,
  surface: 'mcp' | 'api',
  requestId: string,
): void {
  sendSurfaceError(res, surface, {
    status: 503,
    code: 'credential-check-unavailable',
    message: err.message,
    rpcMessage: `Service unavailable: ${err.message}`,
    headers: { 'retry-after': String(err.retryAfterSeconds), 'x-request-id': requestId },
  });
}
