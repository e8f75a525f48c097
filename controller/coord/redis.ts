// Coordination over Redis (REDIS_URL): what gateway replicas share in real time.
// Keys (all under keyPrefix, default "mcpfleet:"):
//   activity:<server>            last activity, ms since epoch (only moves forward)
//   wakelock:<server>            owner id, SET NX PX (re-entrant) — one wake per server
//   route:<server>:<session>     replica/backend id owning an MCP session, with a TTL
//   live:<server>                sorted set: live session id → until when its mark holds (ms)
//   channel:<name>               pub/sub channels (on a second, subscriber-mode connection)
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/log.ts';
import { redactUrl } from '../store/redact-url.ts';
import type { Coord } from './coord.ts';
import { normalizeTtl } from './ttl.ts';

export interface RedisCoordOptions {
  url: string;
  /** Namespace for every key and channel; default "mcpfleet:". */
  keyPrefix?: string;
  /** Bound on connecting (TCP + handshake) and on each command; default 5 s. */
  timeoutMs?: number;
  /** Shown by CLIENT LIST, so operators can tell the controller's connections apart. */
  connectionName?: string;
  logger?: Logger;
}

// Activity only moves forward: replicas flush their batches out of order.
const TOUCH_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if not current or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 0`;

// Take the lock, or extend it when this owner holds it already (re-entrant).
const ACQUIRE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// Compare-and-delete: a slow owner whose lock expired and was taken over must not free
// the new holder's lock.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

interface ScriptedRedis extends Redis {
  mcpfleetTouch(key: string, atMs: string): Promise<number>;
  mcpfleetAcquire(key: string, owner: string, ttlMs: string): Promise<number>;
  mcpfleetRelease(key: string, owner: string): Promise<number>;
  mcpfleetRenew(key: string, owner: string, ttlMs: string): Promise<number>;
}

interface Channel {
  handlers: Set<(message: string) => void>;
  /** Resolves once Redis acknowledged SUBSCRIBE, so a later publish is delivered. */
  subscribed: Promise<unknown>;
}

export class RedisCoord implements Coord {
  readonly #redis: ScriptedRedis;
  readonly #url: string;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #channels = new Map<string, Channel>();
  #subscriber: Promise<Redis> | undefined;
  #closed = false;

  /** Use connectRedisCoord(): it verifies the connection before anyone relies on it. */
  constructor(options: RedisCoordOptions) {
    this.#url = redactUrl(options.url);
    this.#prefix = options.keyPrefix ?? 'mcpfleet:';
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#logger = options.logger;
    this.#redis = createClient(
      options.url,
      this.#timeoutMs,
      options.connectionName ?? 'mcpfleet',
    ) as ScriptedRedis;
    this.#redis.defineCommand('mcpfleetTouch', { numberOfKeys: 1, lua: TOUCH_SCRIPT });
    this.#redis.defineCommand('mcpfleetAcquire', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
    this.#redis.defineCommand('mcpfleetRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    this.#redis.defineCommand('mcpfleetRenew', { numberOfKeys: 1, lua: RENEW_SCRIPT });
    watchErrors(this.#redis, this.#url, this.#logger);
  }

  /** Connects (bounded by timeoutMs) or throws an error naming the URL. */
  async connect(): Promise<void> {
    await connectBounded(this.#redis, this.#url, this.#timeoutMs);
  }

  async touch(server: string, atMs: number): Promise<void> {
    await this.#redis.mcpfleetTouch(this.#key('activity', server), String(Math.trunc(atMs)));
  }

  async lastActivity(server: string): Promise<number | undefined> {
    const value = await this.#redis.get(this.#key('activity', server));
    return value === null ? undefined : Number(value);
  }

  async acquireWakeLock(server: string, owner: string, ttlMs: number): Promise<boolean> {
    const ttl = normalizeTtl(ttlMs);
    const key = this.#key('wakelock', server);
    return (await this.#redis.mcpfleetAcquire(key, owner, String(ttl))) === 1;
  }

  async releaseWakeLock(server: string, owner: string): Promise<void> {
    await this.#redis.mcpfleetRelease(this.#key('wakelock', server), owner);
  }

  async renewWakeLock(server: string, owner: string, ttlMs: number): Promise<boolean> {
    const ttl = normalizeTtl(ttlMs);
    return (
      (await this.#redis.mcpfleetRenew(this.#key('wakelock', server), owner, String(ttl))) === 1
    );
  }

  async setSessionRoute(
    server: string,
    sessionId: string,
    target: string,
    ttlMs: number,
  ): Promise<void> {
    const ttl = normalizeTtl(ttlMs);
    await this.#redis.set(this.#key('route', server, sessionId), target, 'PX', ttl);
  }

  async getSessionRoute(server: string, sessionId: string): Promise<string | undefined> {
    const value = await this.#redis.get(this.#key('route', server, sessionId));
    return value ?? undefined;
  }

  async deleteSessionRoute(server: string, sessionId: string): Promise<void> {
    await this.#redis.del(this.#key('route', server, sessionId));
  }

  async markSessionsLive(
    server: string,
    sessionIds: readonly string[],
    untilMs: number,
  ): Promise<void> {
    if (sessionIds.length === 0) return;
    const key = this.#key('live', server);
    const until = Math.trunc(untilMs);
    // GT: a replica renewing late never shortens another replica's mark of the same session.
    const members = sessionIds.flatMap((id) => [until, id]);
    await this.#redis
      .multi()
      .zadd(key, 'GT', ...members)
      .pexpireat(key, until + 60_000) // the set outlives its last mark a little, then goes
      .exec();
  }

  async unmarkSessionsLive(server: string, sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    await this.#redis.zrem(this.#key('live', server), ...sessionIds);
  }

  async countLiveSessions(server: string, nowMs: number): Promise<number> {
    const key = this.#key('live', server);
    const replies = await this.#redis
      .multi()
      .zremrangebyscore(key, '-inf', Math.trunc(nowMs))
      .zcard(key)
      .exec();
    const [error, count] = replies?.[1] ?? [new Error('no reply'), 0];
    if (error) throw error;
    return Number(count);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#redis.publish(this.#key('channel', channel), message);
  }

  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
  ): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error('coordination store is closed');
    const subscriber = await this.#subscriberConnection();
    const redisChannel = this.#key('channel', channel);
    let entry = this.#channels.get(redisChannel);
    if (!entry) {
      entry = { handlers: new Set(), subscribed: subscriber.subscribe(redisChannel) };
      this.#channels.set(redisChannel, entry);
    }
    // A distinct wrapper per call, so subscribing the same function twice unsubscribes
    // one at a time.
    const handler = (message: string): void => onMessage(message);
    entry.handlers.add(handler);
    try {
      await entry.subscribed;
    } catch (err) {
      entry.handlers.delete(handler);
      if (entry.handlers.size === 0 && this.#channels.get(redisChannel) === entry) {
        this.#channels.delete(redisChannel);
      }
      throw err;
    }
    const current = entry;
    return async () => {
      if (!current.handlers.delete(handler)) return;
      if (current.handlers.size > 0 || this.#channels.get(redisChannel) !== current) return;
      this.#channels.delete(redisChannel);
      if (!this.#closed) await subscriber.unsubscribe(redisChannel);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#channels.clear();
    const subscriber = await this.#subscriber?.catch(() => undefined);
    await Promise.all([quit(this.#redis), subscriber ? quit(subscriber) : undefined]);
  }

  /** Pub/sub needs its own connection: a subscribed Redis connection runs nothing else. */
  #subscriberConnection(): Promise<Redis> {
    this.#subscriber ??= (async () => {
      const subscriber = this.#redis.duplicate();
      watchErrors(subscriber, this.#url, this.#logger);
      subscriber.on('message', (redisChannel: string, message: string) =>
        this.#deliver(redisChannel, message),
      );
      await connectBounded(subscriber, this.#url, this.#timeoutMs);
      return subscriber;
    })();
    // A failed connection attempt is not cached: the next subscribe tries again.
    this.#subscriber.catch(() => (this.#subscriber = undefined));
    return this.#subscriber;
  }

  #deliver(redisChannel: string, message: string): void {
    const entry = this.#channels.get(redisChannel);
    if (!entry) return;
    for (const handler of entry.handlers) {
      try {
        handler(message);
      } catch (err) {
        if (this.#logger)
          this.#logger.error({ err, channel: redisChannel }, 'coord subscriber threw');
        else process.emitWarning(`coord subscriber on "${redisChannel}" threw: ${String(err)}`);
      }
    }
  }

  #key(kind: string, ...parts: string[]): string {
    // Encoded so a ':' inside a slug or session id cannot collide with another key.
    return `${this.#prefix}${kind}:${parts.map(encodeURIComponent).join(':')}`;
  }
}

/** Opens a Redis coordination backend and checks it answers; throws a clear error if not. */
export async function connectRedisCoord(options: RedisCoordOptions): Promise<RedisCoord> {
  assertRedisUrl(options.url);
  const coord = new RedisCoord(options);
  try {
    await coord.connect();
  } catch (err) {
    await coord.close().catch(() => undefined);
    throw err;
  }
  return coord;
}

function assertRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid Redis URL "${redactUrl(url)}": expected redis://host:port`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(
      `invalid Redis URL "${redactUrl(url)}": the scheme must be redis:// or rediss://`,
    );
  }
}

function createClient(url: string, timeoutMs: number, connectionName: string): Redis {
  const options: RedisOptions = {
    connectionName,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // A command never waits forever: while Redis is away, calls fail after one retry and
    // the callers fall back (a redundant wake, a re-initialize), as the design allows.
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    // No retries during the first connection (fail fast at start); once connected,
    // reconnect with capped backoff. See connectBounded.
    retryStrategy: () => null,
  };
  return new Redis(url, options);
}

async function connectBounded(client: Redis, url: string, timeoutMs: number): Promise<void> {
  let lastError: Error | undefined;
  const remember = (err: Error): void => {
    lastError = err;
  };
  client.on('error', remember);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        // connectTimeout only covers TCP; this also bounds a peer that accepts and then
        // never answers the handshake.
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    client.disconnect();
    const reason = lastError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new Error(`cannot connect to Redis at ${url}: ${reason}`, { cause: err });
  } finally {
    clearTimeout(timer);
    client.off('error', remember);
  }
  client.options.retryStrategy = (attempt: number) => Math.min(100 * 2 ** attempt, 5_000);
}

/** Without an 'error' listener an EventEmitter error would crash the process. */
function watchErrors(client: Redis, url: string, logger: Logger | undefined): void {
  let lastLoggedAt = 0;
  client.on('error', (err: Error) => {
    // While Redis is down ioredis reports every reconnect attempt; one line per 10 s is enough.
    const now = Date.now();
    if (now - lastLoggedAt < 10_000) return;
    lastLoggedAt = now;
    logger?.warn({ err: err.message, url }, 'redis connection error');
  });
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end' || client.status === 'wait') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
