// In-process coordination: the embedded default when there is a single controller and no
// REDIS_URL. Same semantics as the Redis backend (the shared contract suite runs against
// both), so code written against Coord behaves the same on one replica or many.
import { EventEmitter } from 'node:events';
import type { Coord } from './coord.ts';
import { normalizeTtl } from './ttl.ts';

interface Expiring<T> {
  value: T;
  /** ms since epoch; the entry is gone from this instant on. */
  expiresAt: number;
}

export interface MemoryCoordOptions {
  /** Called when a subscriber throws; the publisher never sees subscriber errors. */
  onSubscriberError?: (err: unknown, channel: string) => void;
  /** How often expired session routes are swept (ms); default 60 s. */
  sweepIntervalMs?: number;
}

export class MemoryCoord implements Coord {
  readonly #activity = new Map<string, number>();
  readonly #wakeLocks = new Map<string, Expiring<string>>();
  readonly #sessionRoutes = new Map<string, Expiring<string>>();
  /** server → live session id → until (ms). */
  readonly #liveSessions = new Map<string, Map<string, number>>();
  readonly #bus = new EventEmitter();
  readonly #onSubscriberError: (err: unknown, channel: string) => void;
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  constructor(options: MemoryCoordOptions = {}) {
    this.#onSubscriberError =
      options.onSubscriberError ??
      ((err, channel) =>
        process.emitWarning(`coord subscriber on "${channel}" threw: ${String(err)}`));
    // Any number of gateway components may listen on one channel.
    this.#bus.setMaxListeners(0);
    // Routes of sessions that were never deleted (client vanished) would otherwise pile up;
    // reads already ignore expired entries, the sweep only bounds memory.
    this.#sweeper = setInterval(() => this.#sweepExpired(), options.sweepIntervalMs ?? 60_000);
    this.#sweeper.unref();
  }

  async touch(server: string, atMs: number): Promise<void> {
    this.#assertOpen();
    // Replicas report their own batches out of order; activity only moves forward.
    const current = this.#activity.get(server);
    if (current === undefined || atMs > current) this.#activity.set(server, atMs);
  }

  async lastActivity(server: string): Promise<number | undefined> {
    this.#assertOpen();
    return this.#activity.get(server);
  }

  async acquireWakeLock(server: string, owner: string, ttlMs: number): Promise<boolean> {
    this.#assertOpen();
    const ttl = normalizeTtl(ttlMs);
    const now = Date.now();
    const held = this.#wakeLocks.get(server);
    if (held && held.expiresAt > now && held.value !== owner) return false;
    this.#wakeLocks.set(server, { value: owner, expiresAt: now + ttl });
    return true;
  }

  async releaseWakeLock(server: string, owner: string): Promise<void> {
    this.#assertOpen();
    // Only the owner releases: a slow owner whose lock expired and was taken by someone
    // else must not free the new holder's lock.
    const held = this.#wakeLocks.get(server);
    if (held && held.value === owner) this.#wakeLocks.delete(server);
  }

  async renewWakeLock(server: string, owner: string, ttlMs: number): Promise<boolean> {
    this.#assertOpen();
    const ttl = normalizeTtl(ttlMs);
    const now = Date.now();
    const held = this.#wakeLocks.get(server);
    if (!held || held.value !== owner || held.expiresAt <= now) return false;
    held.expiresAt = now + ttl;
    return true;
  }

  async setSessionRoute(
    server: string,
    sessionId: string,
    target: string,
    ttlMs: number,
  ): Promise<void> {
    this.#assertOpen();
    const ttl = normalizeTtl(ttlMs);
    this.#sessionRoutes.set(routeKey(server, sessionId), {
      value: target,
      expiresAt: Date.now() + ttl,
    });
  }

  async getSessionRoute(server: string, sessionId: string): Promise<string | undefined> {
    this.#assertOpen();
    const key = routeKey(server, sessionId);
    const route = this.#sessionRoutes.get(key);
    if (!route) return undefined;
    if (route.expiresAt <= Date.now()) {
      this.#sessionRoutes.delete(key);
      return undefined;
    }
    return route.value;
  }

  async deleteSessionRoute(server: string, sessionId: string): Promise<void> {
    this.#assertOpen();
    this.#sessionRoutes.delete(routeKey(server, sessionId));
  }

  async markSessionsLive(
    server: string,
    sessionIds: readonly string[],
    untilMs: number,
  ): Promise<void> {
    this.#assertOpen();
    let marks = this.#liveSessions.get(server);
    if (!marks) this.#liveSessions.set(server, (marks = new Map()));
    for (const id of sessionIds) marks.set(id, Math.max(marks.get(id) ?? 0, untilMs));
  }

  async unmarkSessionsLive(server: string, sessionIds: readonly string[]): Promise<void> {
    this.#assertOpen();
    const marks = this.#liveSessions.get(server);
    for (const id of sessionIds) marks?.delete(id);
  }

  async countLiveSessions(server: string, nowMs: number): Promise<number> {
    this.#assertOpen();
    const marks = this.#liveSessions.get(server);
    if (!marks) return 0;
    for (const [id, until] of marks) if (until <= nowMs) marks.delete(id);
    return marks.size;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    // Delivered on a later tick, like a message coming back from Redis: a subscriber never
    // runs inside the publisher's call stack.
    if (this.#bus.listenerCount(channel) === 0) return;
    setImmediate(() => this.#bus.emit(channel, message));
  }

  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
  ): Promise<() => Promise<void>> {
    this.#assertOpen();
    const listener = (message: string): void => {
      try {
        onMessage(message);
      } catch (err) {
        this.#onSubscriberError(err, channel);
      }
    };
    this.#bus.on(channel, listener);
    return async () => {
      this.#bus.off(channel, listener);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#bus.removeAllListeners();
    this.#activity.clear();
    this.#wakeLocks.clear();
    this.#sessionRoutes.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('coordination store is closed');
  }

  #sweepExpired(): void {
    const now = Date.now();
    for (const [key, route] of this.#sessionRoutes) {
      if (route.expiresAt <= now) this.#sessionRoutes.delete(key);
    }
    for (const [server, lock] of this.#wakeLocks) {
      if (lock.expiresAt <= now) this.#wakeLocks.delete(server);
    }
  }
}

function routeKey(server: string, sessionId: string): string {
  // JSON keeps the pair unambiguous whatever characters a session id contains.
  return JSON.stringify([server, sessionId]);
}
