// Every client-facing session the gateway has minted, shared by the controller replicas
// through the coordination store (Redis in a cluster, in-process otherwise), with a local
// cache so the hot path reads nothing remote for the sessions this replica serves. A session
// lives SESSION_TTL_MS after its last use (the TTL slides), until DELETE, or until its server
// refuses to resume it. "Bound" (a session mapped to a new backend session) is announced on a
// channel, so a GET stream parked on another replica can follow the session to its new backend.
import { LiveSessionMarks } from './live-marks.ts';
import { randomBytes } from 'node:crypto';
import type { Coord } from '../coord/coord.ts';
import type { Logger } from '../observability/log.ts';
import { decodeRecord, encodeRecord, mintSessionId, type SessionRecord } from './session-record.ts';

/** A session nobody used for a day is forgotten (the client re-initializes). */
export const SESSION_TTL_MS = 24 * 60 * 60_000;
/** How often a used session's TTL is pushed forward in the store, at most. */
const TTL_REFRESH_MS = 60 * 60_000;
/** Cached records unused this long are dropped (the store still has them). */
const CACHE_IDLE_MS = 10 * 60_000;
const BOUND_CHANNEL = 'mcpfleet:session-bound';

interface Cached {
  record: SessionRecord;
  usedAt: number;
  storedAt: number;
}

export class SessionBook {
  private readonly coord: Coord;
  private readonly logger: Logger;
  /** Tells this replica's own announcements apart from the others'. */
  private readonly self = randomBytes(6).toString('hex');
  private readonly cache = new Map<string, Cached>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private unsubscribe: (() => Promise<void>) | undefined;
  private readonly sweeper: NodeJS.Timeout;

  constructor(coord: Coord, logger: Logger) {
    this.coord = coord;
    this.logger = logger.child({ component: 'sessions' });
    this.sweeper = setInterval(() => this.sweep(), CACHE_IDLE_MS / 2);
    this.sweeper.unref();
  }

  /** Follows bindings made by other controller replicas. */
  async start(): Promise<void> {
    this.unsubscribe = await this.coord
      .subscribe(BOUND_CHANNEL, (message) => {
        const space = message.indexOf(' ');
        if (message.slice(0, space) === this.self) return;
        const key = message.slice(space + 1);
        this.cache.delete(key); // stale here: read the new binding from the store
        this.notify(key);
      })
      .catch((err: unknown) => {
        this.logger.warn({ err }, 'cannot follow session bindings of other replicas');
        return undefined;
      });
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.unsubscribe?.().catch(() => {});
    for (const key of [...this.waiters.keys()]) this.notify(key);
  }

  /** The cross-replica live-session count of `server` (live-marks.ts). */
  liveMarks(server: string, live: () => Iterable<string>): LiveSessionMarks {
    return new LiveSessionMarks(this.coord, server, live, this.logger);
  }

  /** Mints the client-facing id of a new session and records it. */
  async open(server: string, record: SessionRecord): Promise<string> {
    const id = mintSessionId();
    await this.store(server, id, record);
    return id;
  }

  /** The session's record, from the cache or (on a miss, or `fresh`) the store. */
  async get(server: string, id: string, fresh = false): Promise<SessionRecord | undefined> {
    const key = keyOf(server, id);
    const cached = this.cache.get(key);
    const now = Date.now();
    if (cached && !fresh) {
      cached.usedAt = now;
      if (now - cached.storedAt > TTL_REFRESH_MS) void this.store(server, id, cached.record);
      return cached.record;
    }
    let value: string | undefined;
    try {
      value = await this.coord.getSessionRoute(server, id);
    } catch (err) {
      // Without the store this replica still knows the sessions it cached.
      this.logger.warn({ err, server }, 'could not read a session record');
      return cached?.record;
    }
    const record = decodeRecord(value);
    if (record) this.cache.set(key, { record, usedAt: now, storedAt: now });
    else this.cache.delete(key);
    return record;
  }

  /** Saves what the client's calls changed (log level, subscriptions). */
  async save(server: string, id: string, record: SessionRecord): Promise<void> {
    await this.store(server, id, record);
  }

  /** The session now lives on a new backend session: save, and tell parked streams. */
  async bind(server: string, id: string, record: SessionRecord): Promise<void> {
    await this.store(server, id, record);
    const key = keyOf(server, id);
    this.notify(key);
    await this.coord
      .publish(BOUND_CHANNEL, `${this.self} ${key}`)
      .catch((err: unknown) => this.logger.debug({ err }, 'could not announce a session binding'));
  }

  /** DELETE, or a server that does not resume sessions lost its backend session. */
  async forget(server: string, id: string): Promise<void> {
    const key = keyOf(server, id);
    this.cache.delete(key);
    this.notify(key);
    await this.coord
      .deleteSessionRoute(server, id)
      .catch((err: unknown) => this.logger.warn({ err, server }, 'could not forget a session'));
  }

  /** Resolves when the session is bound anew or forgotten (the caller reads it again). */
  changed(server: string, id: string, signal: AbortSignal): Promise<void> {
    const key = keyOf(server, id);
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const done = (): void => {
        set.delete(done);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
        signal.removeEventListener('abort', done);
        resolve();
      };
      set.add(done);
      signal.addEventListener('abort', done, { once: true });
      if (signal.aborted) done();
    });
  }

  private async store(server: string, id: string, record: SessionRecord): Promise<void> {
    const now = Date.now();
    this.cache.set(keyOf(server, id), { record, usedAt: now, storedAt: now });
    await this.coord
      .setSessionRoute(server, id, encodeRecord(record), SESSION_TTL_MS)
      .catch((err: unknown) =>
        // Other replicas will not know it; this one still does (its cache).
        this.logger.warn({ err, server }, 'could not store a session record'),
      );
  }

  private notify(key: string): void {
    for (const done of [...(this.waiters.get(key) ?? [])]) done();
  }

  private sweep(): void {
    const cutoff = Date.now() - CACHE_IDLE_MS;
    for (const [key, cached] of this.cache) if (cached.usedAt < cutoff) this.cache.delete(key);
  }
}

function keyOf(server: string, id: string): string {
  return `${server}\n${id}`;
}
