// Connection pooling to upstreams: one undici Pool per origin (scheme://host:port),
// reused by every request to it, so the hot path never pays a TCP handshake. Local
// backends get a new port on each wake, so pools unused for a while are closed.
import { Pool } from 'undici';

export interface UpstreamTarget {
  pool: Pool;
  /** Path (+ query) of the upstream MCP endpoint. */
  path: string;
}

export interface UpstreamPoolsOptions {
  /** Close a pool after this long without requests (default 5 min). */
  idleCloseMs?: number;
  /** Upper bound on the wait for response headers (default 120 s); bodies may stream on. */
  headersTimeoutMs?: number;
  connectTimeoutMs?: number;
}

interface Entry {
  target: UpstreamTarget;
  origin: string;
}

export class UpstreamPools {
  readonly #pools = new Map<string, { pool: Pool; lastUsed: number }>();
  /** Parsed upstream URLs: the same few URLs recur on every request. */
  readonly #targets = new Map<string, Entry>();
  readonly #idleCloseMs: number;
  readonly #headersTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: UpstreamPoolsOptions = {}) {
    this.#idleCloseMs = options.idleCloseMs ?? 5 * 60_000;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? 120_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(this.#idleCloseMs, 60_000));
    this.#sweeper.unref();
  }

  /** The pool and request path for an upstream URL. */
  target(url: string): UpstreamTarget {
    let entry = this.#targets.get(url);
    if (entry === undefined) {
      const parsed = new URL(url);
      const origin = parsed.origin;
      entry = {
        origin,
        target: { pool: this.#pool(origin), path: parsed.pathname + parsed.search },
      };
      this.#targets.set(url, entry);
    }
    const pooled = this.#pools.get(entry.origin);
    if (pooled === undefined || pooled.pool.closed || pooled.pool.destroyed) {
      // Swept since: make a fresh pool for this origin.
      entry.target = { pool: this.#pool(entry.origin), path: entry.target.path };
    } else {
      pooled.lastUsed = Date.now();
    }
    return entry.target;
  }

  #pool(origin: string): Pool {
    const pool = new Pool(origin, {
      // Unbounded: long-lived SSE streams must never starve short requests of a socket.
      connections: null,
      headersTimeout: this.#headersTimeoutMs,
      // SSE streams may be silent for long stretches; client disconnect and lease
      // aborts end them instead.
      bodyTimeout: 0,
      connectTimeout: this.#connectTimeoutMs,
      keepAliveTimeout: 30_000,
    });
    this.#pools.set(origin, { pool, lastUsed: Date.now() });
    return pool;
  }

  #sweep(): void {
    const cutoff = Date.now() - this.#idleCloseMs;
    for (const [origin, entry] of this.#pools) {
      const { running, pending } = entry.pool.stats;
      if (entry.lastUsed < cutoff && running === 0 && pending === 0) {
        this.#pools.delete(origin);
        for (const [url, t] of this.#targets) if (t.origin === origin) this.#targets.delete(url);
        void entry.pool.close().catch(() => undefined);
      }
    }
  }

  /** Totals over every pool: open sockets, requests in progress and queued. */
  stats(): { pools: number; connected: number; running: number; pending: number } {
    const total = { pools: this.#pools.size, connected: 0, running: 0, pending: 0 };
    for (const { pool } of this.#pools.values()) {
      const s = pool.stats;
      total.connected += s.connected;
      total.running += s.running;
      total.pending += s.pending;
    }
    return total;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const pools = [...this.#pools.values()].map((e) => e.pool);
    this.#pools.clear();
    this.#targets.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}
