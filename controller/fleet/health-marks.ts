// Marks that say a server is unhealthy while it still serves: today, that its processes flood
// the log (output-rate-limit.ts). Each mark is held by whoever raised it (one replica's
// output) until it clears it, so a replica going away cannot clear the mark of the next one.
// Shown in the server's status (`healthMark`, `mcpfleet status`); its edges are events.
import type { EventLog } from './event-log.ts';

export class HealthMarks {
  private readonly server: string;
  private readonly events: EventLog;
  private readonly marks = new Map<object, string>();

  constructor(server: string, events: EventLog) {
    this.server = server;
    this.events = events;
  }

  /** The reason of the oldest mark standing, or null when there is none. */
  get reason(): string | null {
    return this.marks.values().next().value ?? null;
  }

  /** `holder` raises its mark (`reason`), or clears it (null). */
  set(holder: object, reason: string | null): void {
    const had = this.marks.size > 0;
    const cleared = this.marks.get(holder);
    if (reason === null) this.marks.delete(holder);
    else this.marks.set(holder, reason);
    const has = this.marks.size > 0;
    if (has && !had) {
      this.events.event({
        server: this.server,
        type: 'unhealthy',
        message: this.reason ?? undefined,
        data: { mark: true },
      });
    } else if (had && !has) {
      this.events.event({
        server: this.server,
        type: 'health',
        message: `recovered from ${cleared ?? 'its health mark'}`,
        data: { mark: false },
      });
    }
  }
}
