// Parses the query parameters of GET /api/v1/events and GET /api/v1/servers/<slug>/logs, or
// says what is wrong (the API answers 400 with that message).
import type { EventQuery } from '../store/store.ts';
import { EVENT_TYPES } from './types.ts';

export const MAX_EVENTS_LIMIT = 1000;
/** `lines` may ask for at most this many; the controller keeps no more per server anyway. */
export const MAX_LOG_LINES = 1000;
export const DEFAULT_LOG_LINES = 100;
export const SLUG = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

export type Parsed<T> = ({ ok: true } & T) | { ok: false; message: string };
export type EventsQueryResult = Parsed<{ query: EventQuery; follow: boolean }>;
export type LogsQueryResult = Parsed<{ lines: number; follow: boolean }>;

export function parseEventsQuery(params: URLSearchParams): EventsQueryResult {
  const unknown = unknownParameter(params, ['server', 'type', 'limit', 'follow']);
  if (unknown) return { ok: false, message: unknown };
  const query: EventQuery = {};
  const server = params.get('server');
  if (server !== null && server !== '') {
    if (!SLUG.test(server))
      return { ok: false, message: `"server" is not a server slug: ${server}` };
    query.server = server;
  }
  const type = params.get('type');
  if (type !== null && type !== '') {
    if (!TYPES.has(type))
      return {
        ok: false,
        message: `"type" ${JSON.stringify(type.slice(0, 64))} is not an event type; one of: ${EVENT_TYPES.join(', ')}`,
      };
    query.type = type;
  }
  const limit = count(params, 'limit', MAX_EVENTS_LIMIT);
  if (typeof limit === 'string') return { ok: false, message: limit };
  if (limit !== undefined) query.limit = limit;
  const follow = flag(params, 'follow');
  if (typeof follow === 'string') return { ok: false, message: follow };
  return { ok: true, query, follow };
}

export function parseLogsQuery(params: URLSearchParams): LogsQueryResult {
  const unknown = unknownParameter(params, ['lines', 'follow']);
  if (unknown) return { ok: false, message: unknown };
  const lines = count(params, 'lines', MAX_LOG_LINES);
  if (typeof lines === 'string') return { ok: false, message: lines };
  const follow = flag(params, 'follow');
  if (typeof follow === 'string') return { ok: false, message: follow };
  return { ok: true, lines: lines ?? DEFAULT_LOG_LINES, follow };
}

export function unknownParameter(params: URLSearchParams, known: string[]): string | undefined {
  for (const key of params.keys()) {
    if (!known.includes(key)) {
      return `Unknown query parameter "${key.slice(0, 64)}" (use ${known.join(', ')})`;
    }
  }
  return undefined;
}

/** An integer from 1 to `max`, undefined when absent, or the complaint. */
export function count(
  params: URLSearchParams,
  name: string,
  max: number,
): number | undefined | string {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) {
    return `"${name}" must be an integer from 1 to ${max}, got "${text.slice(0, 64)}"`;
  }
  return n;
}

/** true | false (absent: false), or the complaint. */
function flag(params: URLSearchParams, name: string): boolean | string {
  const text = params.get(name);
  if (text === null || text === '' || text === 'false') return false;
  if (text === 'true') return true;
  return `"${name}" must be true or false, got "${text.slice(0, 64)}"`;
}
