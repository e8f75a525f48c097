// How many sessions of one server are live across all controller replicas, for
// replicas-follow-sessions: each replica marks the sessions it serves in the coordination
// store (Coord.markSessionsLive) when one becomes live, renews the marks every few seconds
// while they live and removes them when they end; the leader counts the distinct marks. A
// replica that crashes stops renewing, so its sessions stop counting within MARK_TTL_MS.
import type { Coord } from '../coord/coord.ts';
import type { Logger } from '../observability/log.ts';

export const RENEW_EVERY_MS = 10_000;
export const MARK_TTL_MS = 3 * RENEW_EVERY_MS;

export class LiveSessionMarks {
  private readonly coord: Coord;
  private readonly server: string;
  private readonly logger: Logger;
  private readonly live: () => Iterable<string>;
  private timer: NodeJS.Timeout | undefined;
  /** The last write, so a count taken right after a change sees it. */
  private pending: Promise<void> = Promise.resolve();

  constructor(coord: Coord, server: string, live: () => Iterable<string>, logger: Logger) {
    this.coord = coord;
    this.server = server;
    this.live = live;
    this.logger = logger;
  }

  marked(ids: readonly string[]): void {
    this.write(() => this.coord.markSessionsLive(this.server, ids, Date.now() + MARK_TTL_MS));
    this.timer ??= setInterval(() => this.renew(), RENEW_EVERY_MS).unref();
  }

  unmarked(ids: readonly string[]): void {
    if (ids.length > 0) this.write(() => this.coord.unmarkSessionsLive(this.server, ids));
  }

  /**
   * Distinct live sessions across replicas; never fewer than this replica's own (`local`),
   * which is also the answer while the store cannot be reached.
   */
  async count(local: number): Promise<number> {
    try {
      await this.pending;
      return Math.max(local, await this.coord.countLiveSessions(this.server, Date.now()));
    } catch (err) {
      this.logger.debug({ err }, 'live sessions of other replicas unknown: counting our own');
      return local;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private renew(): void {
    const ids = [...this.live()];
    if (ids.length === 0) return this.stop();
    this.write(() => this.coord.markSessionsLive(this.server, ids, Date.now() + MARK_TTL_MS));
  }

  private write(op: () => Promise<void>): void {
    this.pending = this.pending
      .then(op)
      .catch((err: unknown) => this.logger.debug({ err }, 'could not mark live sessions'));
  }
}
