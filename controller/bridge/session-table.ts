// The bridge's MCP sessions by MCP-Session-Id, each with a process of its own. A session
// opens on an initialize without a session id, taking the warm spare (or a fresh process
// when there is room), and ends on DELETE, when it was idle too long (swept here), when its
// process exits, or when the bridge closes — its process stopped each time.
import type { Logger } from '../observability/log.ts';
import type { BridgeChildren } from './bridge-children.ts';
import { BridgeSession, newSessionId } from './bridge-session.ts';
import type { SparePings } from './spare-ping.ts';

export interface SessionTableOptions {
  logger: Logger;
  maxBufferedBytes?: number | undefined;
  killGraceMs?: number | undefined;
}

export class SessionTable {
  private readonly sessions = new Map<string, BridgeSession>();
  private readonly children: BridgeChildren;
  private readonly pings: SparePings;
  private readonly options: SessionTableOptions;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(children: BridgeChildren, pings: SparePings, options: SessionTableOptions) {
    this.children = children;
    this.pings = pings;
    this.options = options;
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): BridgeSession | undefined {
    return this.sessions.get(id);
  }

  /** A new session on the spare or a fresh process; undefined when no process may start. */
  open(): BridgeSession | undefined {
    let child = this.children.takeSpare();
    if (child) this.pings.failPingsOf(child, 'the process was handed to a new session; retry');
    if (!child) {
      if (this.children.room() !== undefined) return undefined;
      child = this.children.spawn();
    }
    const session = new BridgeSession(newSessionId(), child, false, this.options.maxBufferedBytes);
    this.sessions.set(session.id, session);
    void child.exited.then(() => {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    });
    return session;
  }

  async close(session: BridgeSession, reason: string): Promise<void> {
    this.sessions.delete(session.id);
    session.fail(undefined, reason);
    await session.child.stop(this.options.killGraceMs);
  }

  /** Closes, from now on, every session without a request for `idleMs`. */
  sweepEvery(idleMs: number): void {
    this.sweeper = setInterval(() => this.sweepIdle(idleMs), Math.min(idleMs / 2, 60_000));
    this.sweeper.unref();
  }

  /** Ends the sweeping and fails every session (their processes are stopped by the bridge). */
  failAll(reason: string): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const session of this.sessions.values()) session.fail(undefined, reason);
    this.sessions.clear();
  }

  private sweepIdle(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const session of this.sessions.values()) {
      if (session.lastActivity < cutoff && session.pendingCount === 0) {
        this.options.logger.info({ session: session.id }, 'closing idle MCP session');
        void this.close(session, 'session expired');
      }
    }
  }
}
