// A request id per request: the client's X-Request-Id when it is a sane token (so traces
// join up across hops), otherwise a fresh one. Echoed in the response and sent upstream.
import { randomUUID } from 'node:crypto';

const SAFE_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

export function requestIdOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SAFE_ID.test(value) ? value : randomUUID();
}
