// The bridge's processes for sessionless requests (revision 2026-07-28, or a 2025 request
// without a session): one per client, never one for everybody — a stdio server keeps state
// per process (what a client set, subscribed or stored), so a process shared by every
// sessionless client let client B read what client A created. The client is the gateway's
// pseudonym for it (sessions/client-key.ts: the address, later the principal), sent in the
// `mcpfleet-client` header; a request without it (someone calling the bridge directly) is
// its own anonymous client. Bounded: at most `max` such processes, the least recently used
// idle one stopped for a new client; one unused for `idleMs` is stopped.
import { BridgeSession } from './bridge-session.ts';
import { LATEST_PROTOCOL_VERSION } from './protocol-version.ts';
import type { StdioChild } from './stdio-child.ts';

export const DEFAULT_MAX_SESSIONLESS = 8;
export const DEFAULT_SESSIONLESS_IDLE_MS = 5 * 60_000;
const ANONYMOUS = '';

export interface SessionlessPoolOptions {
  /** Starts the server process for a client's sessionless session. */
  spawn(): StdioChild;
  /** Why no process may start now (the bridge's cap, the memory floor), or undefined. */
  room(): string | undefined;
  /** Brings a fresh process to where requests can be sent (initialize + initialized). */
  initialize(session: BridgeSession, protocolVersion: string | undefined): Promise<void>;
  maxBufferedBytes?: number | undefined;
  killGraceMs?: number | undefined;
  max?: number | undefined;
  idleMs?: number | undefined;
}

/** A sessionless process is initialized by the bridge itself (its clients never do). */
export async function initializeSessionless(
  session: BridgeSession,
  protocolVersion: string | undefined,
): Promise<void> {
  const reply = await session.request('initialize', {
    protocolVersion: protocolVersion ?? LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'mcpfleet-bridge', version: '1' },
  });
  if (reply.error !== undefined)
    throw new Error(`the MCP server refused initialize: ${JSON.stringify(reply.error)}`);
  session.notify('notifications/initialized');
}

/** No process can start for the request: why, for the 503. */
export class SessionlessFullError extends Error {
  override name = 'SessionlessFullError';
}

interface Entry {
  session: Promise<BridgeSession>;
  child: StdioChild | undefined;
  lastUsed: number;
  busy: number;
}

export class SessionlessPool {
  private readonly options: SessionlessPoolOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly max: number;
  private readonly idleMs: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: SessionlessPoolOptions) {
    this.options = options;
    this.max = Math.max(1, options.max ?? DEFAULT_MAX_SESSIONLESS);
    this.idleMs = options.idleMs ?? DEFAULT_SESSIONLESS_IDLE_MS;
    this.sweeper = setInterval(() => this.sweep(), Math.min(this.idleMs / 2, 60_000));
    this.sweeper.unref();
  }

  /**
   * The client's sessionless session, started on first use; `done` must be called when the
   * request's answer is out (a process answering someone is never stopped to make room).
   */
  async acquire(
    client: string | undefined,
    protocolVersion: string | undefined,
  ): Promise<{ session: BridgeSession; done: () => void }> {
    const key = client ?? ANONYMOUS;
    let entry = this.entries.get(key);
    if (!entry) {
      this.makeRoom();
      if (this.entries.size >= this.max)
        throw new SessionlessFullError(
          `all ${this.max} sessionless MCP server processes are answering other clients`,
        );
      const why = this.options.room();
      if (why) throw new SessionlessFullError(why);
      entry = this.start(key, protocolVersion);
    }
    entry.busy++;
    entry.lastUsed = Date.now();
    const used = entry;
    let ended = false;
    const done = (): void => {
      if (ended) return;
      ended = true;
      used.busy--;
      used.lastUsed = Date.now();
    };
    try {
      return { session: await entry.session, done };
    } catch (err) {
      done();
      throw err;
    }
  }

  /** A process exited: a client whose process it was gets a new one next time. */
  exited(child: StdioChild): void {
    for (const [key, entry] of this.entries) if (entry.child === child) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  private start(key: string, protocolVersion: string | undefined): Entry {
    const child = this.options.spawn();
    const session = this.initialized(child, protocolVersion);
    const entry: Entry = { child, session, lastUsed: Date.now(), busy: 0 };
    session.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    this.entries.set(key, entry);
    return entry;
  }

  private async initialized(
    child: StdioChild,
    protocolVersion: string | undefined,
  ): Promise<BridgeSession> {
    const session = new BridgeSession('sessionless', child, true, this.options.maxBufferedBytes);
    try {
      await this.options.initialize(session, protocolVersion);
    } catch (err) {
      void child.stop(this.options.killGraceMs);
      throw err;
    }
    return session;
  }

  /** At the bound: the least recently used idle process goes for the new client. */
  private makeRoom(): void {
    if (this.entries.size < this.max) return;
    let oldest: [string, Entry] | undefined;
    for (const item of this.entries)
      if (item[1].busy === 0 && (!oldest || item[1].lastUsed < oldest[1].lastUsed)) oldest = item;
    if (oldest) this.stop(...oldest);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const [key, entry] of [...this.entries])
      if (entry.busy === 0 && entry.lastUsed < cutoff) this.stop(key, entry);
  }

  private stop(key: string, entry: Entry): void {
    this.entries.delete(key);
    void entry.session.then(
      (session) => {
        session.fail(undefined, 'sessionless process stopped');
        return session.child.stop(this.options.killGraceMs);
      },
      () => {},
    );
  }
}
