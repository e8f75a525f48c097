// GET /api/v1/events?follow=true: the last `limit` events (oldest first), then each new one as
// it is recorded, as SSE `event` events.
//
// Why the store is polled (once a second, server-side, with an id cursor) rather than an
// in-process subscription: events are rows that every controller replica writes to the shared
// store, and the fleet emits nothing in-process (its EventLog only writes them). Reading the
// store, a follower sees every replica's events, exactly as GET /api/v1/events does; a
// subscription would see only this replica's. One indexed query a second per follower is
// cheap, and the CLI only reads a stream.
import type { Fleet } from '../fleet/fleet.ts';
import type { Logger } from '../observability/log.ts';
import type { EventQuery } from '../store/store.ts';
import type { FollowStream } from './follow-stream.ts';

export const EVENT_POLL_MS = 1_000;
/**
 * Ids are taken when a row is inserted but seen when it commits, so with several replicas
 * writing, an id can become visible after a larger one was already sent. Each poll looks this
 * many ids back and skips the ones it sent.
 */
const LOOKBACK_IDS = 100;
const BATCH = 1_000;

export interface FollowEventsOptions {
  pollMs?: number;
  logger: Logger;
}

/** Reads the recent events first (a failure is still an ordinary error answer), then `open`s. */
export async function followEvents(
  fleet: Fleet,
  query: EventQuery,
  open: () => FollowStream,
  options: FollowEventsOptions,
): Promise<void> {
  const { limit, ...filters } = query;
  const recent = await fleet.events({ ...filters, ...(limit !== undefined ? { limit } : {}) });
  const stream = open();
  let cursor = 0;
  const sent = new Set<number>();
  const send = (events: Awaited<ReturnType<Fleet['events']>>): void => {
    for (const event of events) {
      if (sent.has(event.id)) continue;
      stream.send('event', event, event.id);
      sent.add(event.id);
      cursor = Math.max(cursor, event.id);
    }
    for (const id of sent) if (id <= cursor - LOOKBACK_IDS) sent.delete(id);
  };
  send(recent.reverse());

  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  stream.onEnd(() => clearTimeout(timer));
  const poll = async (): Promise<void> => {
    try {
      send(
        await fleet.events({
          ...filters,
          afterId: Math.max(0, cursor - LOOKBACK_IDS),
          limit: BATCH,
        }),
      );
      failing = false;
    } catch (err) {
      // The store is unreachable for now: the stream stays open and the next poll retries.
      if (!failing) options.logger.warn({ err }, 'events follower could not read the store');
      failing = true;
    }
    if (!stream.ended) timer = setTimeout(() => void poll(), options.pollMs ?? EVENT_POLL_MS);
  };
  if (!stream.ended) timer = setTimeout(() => void poll(), options.pollMs ?? EVENT_POLL_MS);
}
