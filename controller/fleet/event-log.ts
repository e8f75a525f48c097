// Events and status history, written to the store off the request path: callers fire and
// forget; failures are logged, never thrown at a request. Pending writes are tracked so
// shutdown can wait for them before the store closes.
import type { ServerState } from '../api/types.ts';
import type { Logger } from '../observability/log.ts';
import type { HealthResult, NewEvent, Store } from '../store/store.ts';

export class EventLog {
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(store: Store, logger: Logger) {
    this.store = store;
    this.logger = logger;
  }

  event(event: NewEvent): void {
    this.logger.info(
      { server: event.server, event: event.type, durationMs: event.durationMs },
      event.message ?? event.type,
    );
    this.track(this.store.recordEvent(event), 'event');
  }

  status(server: string, state: ServerState, reason: string | null): void {
    this.track(this.store.recordStatus(server, state, reason ?? undefined), 'status');
  }

  health(result: HealthResult): void {
    this.track(this.store.recordHealth(result), 'health result');
  }

  /** Waits for every write issued so far (bounded by `timeoutMs`). */
  async settle(timeoutMs = 5000): Promise<void> {
    const all = Promise.allSettled([...this.pending]);
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  private track(write: Promise<unknown>, what: string): void {
    const tracked = write.catch((err: unknown) =>
      this.logger.error({ err }, `could not record ${what}`),
    );
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}
