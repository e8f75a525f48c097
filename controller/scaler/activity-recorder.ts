// Traffic timestamps, shared with other gateway replicas through coord — batched: a
// request only writes a number into a map; a timer flushes the newest value per server
// every `intervalMs`. No request ever awaits the coordination backend. A server with requests
// in flight (a long tool call, an SSE stream) is re-touched at every flush, so another
// controller replica deciding on sleep sees it busy however long the request lasts.
import type { Coord } from '../coord/coord.ts';
import type { Logger } from '../observability/log.ts';

export class ActivityRecorder {
  private readonly coord: Coord;
  private readonly logger: Logger;
  private readonly dirty = new Map<string, number>();
  private readonly busyServers = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(coord: Coord, logger: Logger, intervalMs = 1000) {
    this.coord = coord;
    this.logger = logger;
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  touch(server: string, atMs: number): void {
    this.dirty.set(server, atMs);
  }

  /** Marks whether this replica has requests in flight for `server`. */
  busy(server: string, inFlight: boolean): void {
    if (inFlight) this.busyServers.add(server);
    else this.busyServers.delete(server);
  }

  /** Activity seen by any gateway replica (coord), or undefined. */
  async shared(server: string): Promise<number | undefined> {
    try {
      return await this.coord.lastActivity(server);
    } catch (err) {
      this.logger.warn({ err, server }, 'could not read shared activity');
      return undefined;
    }
  }

  async flush(): Promise<void> {
    const now = Date.now();
    for (const server of this.busyServers) this.dirty.set(server, now);
    if (this.dirty.size === 0) return;
    const batch = [...this.dirty];
    this.dirty.clear();
    await Promise.all(
      batch.map(([server, at]) =>
        this.coord
          .touch(server, at)
          .catch((err: unknown) => this.logger.warn({ err, server }, 'could not record activity')),
      ),
    );
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
