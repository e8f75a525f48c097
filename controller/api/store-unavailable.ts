// What the API answers when the store is down or does not answer in time: a 503 the client may
// retry, not an internal error; the rest of the API and MCP keep working meanwhile.
import type { ServerResponse } from 'node:http';
import type { Logger } from '../observability/log.ts';
import { sendApiError } from './send-json.ts';

/** What a 503 of a store-backed route suggests waiting before asking again. */
const STORE_RETRY_AFTER_S = 5;

/** `what`: what the route reads, for the message ("event store", "audit log"). */
export function sendStoreUnavailable(
  res: ServerResponse,
  err: unknown,
  log: Logger,
  what: string,
): void {
  const reason = err instanceof Error ? err.message : String(err);
  log.warn({ err: reason }, `${what}: the store is unavailable`);
  sendApiError(res, 503, 'store-unavailable', `The ${what} is unavailable: ${reason}`, {
    'retry-after': String(STORE_RETRY_AFTER_S),
  });
}
