// Traffic timestamps, shared with other gateway replicas through coord — batched: a
// request only writes a number into a map; a timer flushes the newest value per server
// every `intervalMs`. No request ever awaits the coordination backend.
import type { Coord } from '../coord/coord.ts';
import type { Logger } from '../observability/log.ts';

export class ActivityRecorder {
  private readonly coord: Coord;
  private readonly logger: Logger;
  private readonly dirty = new Map<string, number>();
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
