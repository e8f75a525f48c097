// Parses GET /api/v1/events query parameters into an EventQuery, or says what is wrong.
import type { EventQuery } from '../store/store.ts';
import { EVENT_TYPES } from './types.ts';

export const MAX_EVENTS_LIMIT = 1000;
const SLUG = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
const KNOWN = new Set(['server', 'type', 'limit']);

export type EventsQueryResult = { ok: true; query: EventQuery } | { ok: false; message: string };

export function parseEventsQuery(params: URLSearchParams): EventsQueryResult {
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) {
      return { ok: false, message: `Unknown query parameter "${key}" (use server, type, limit)` };
    }
  }
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
  const limit = params.get('limit');
  if (limit !== null && limit !== '') {
    const n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > MAX_EVENTS_LIMIT) {
      return {
        ok: false,
        message: `"limit" must be an integer from 1 to ${MAX_EVENTS_LIMIT}, got "${limit}"`,
      };
    }
    query.limit = n;
  }
  return { ok: true, query };
}
