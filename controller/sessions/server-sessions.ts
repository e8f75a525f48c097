// One server's client-facing sessions, as the fleet sees them: which are bound to a backend
// of the running replica now (counted for replicas-follow-sessions, used to route), and how a
// session whose backend went away is bound again — replayed on a backend of the new replica,
// once however many requests ask at the same moment.
import { formatDuration } from '../../registry/catalog/duration.ts';
import type { EventLog } from '../fleet/event-log.ts';
import type { Logger } from '../observability/log.ts';
import type { LiveSessionMarks } from './live-marks.ts';
import type { SessionBook } from './session-book.ts';
import {
  afterCalls,
  type BackendBinding,
  type ClientCall,
  type SessionRecord,
} from './session-record.ts';
import { replaySession, type ReplayTarget } from './session-replay.ts';

export interface ServerSessionsOptions {
  slug: string;
  book: SessionBook;
  events: EventLog;
  logger: Logger;
  /** Whether the server's sessions are replayed (`sessions.resume`); the spec may change. */
  resumes: () => boolean;
  /** The number of live sessions changed. */
  onChange: () => void;
}

export class ServerSessions {
  private readonly options: ServerSessionsOptions;
  /** Client session id → backend id, for sessions bound to a backend that runs now. */
  private readonly live = new Map<string, string>();
  private readonly rebinding = new Map<string, Promise<BackendBinding>>();
  private readonly marks: LiveSessionMarks;

  constructor(options: ServerSessionsOptions) {
    this.options = options;
    this.marks = options.book.liveMarks(options.slug, () => this.live.keys());
  }

  /** Live sessions of the server across every controller replica (this one's at least). */
  globalCount(): Promise<number> {
    return this.marks.count(this.live.size);
  }

  get resumes(): boolean {
    return this.options.resumes();
  }

  /** Live sessions by backend, for routing and scaling. */
  get byBackend(): ReadonlyMap<string, string> {
    return this.live;
  }

  get size(): number {
    return this.live.size;
  }

  find(id: string, fresh = false): Promise<SessionRecord | undefined> {
    return this.options.book.get(this.options.slug, id, fresh);
  }

  /** An initialize minted a backend session: mint the client's id for it. */
  async opened(
    backend: BackendBinding,
    initialize: Record<string, unknown>,
    backendEra?: 'modern',
  ): Promise<string> {
    const id = await this.options.book.open(this.options.slug, {
      v: 1,
      backend,
      initialize,
      subscriptions: [],
      ...(backendEra ? { backendEra } : {}),
    });
    this.setLive(id, backend.replicaId);
    return id;
  }

  /** A session bound (by another controller replica) to a backend that runs here too. */
  adopt(id: string, backendId: string): void {
    if (this.live.get(id) !== backendId) this.setLive(id, backendId);
  }

  /** DELETE, or a session that cannot be resumed lost its backend: it is over. */
  async closed(id: string): Promise<void> {
    this.marks.unmarked([id]);
    if (this.live.delete(id)) this.options.onChange();
    await this.options.book.forget(this.options.slug, id);
  }

  /** The backend answered 404 for `binding`: it no longer has that session. */
  async lost(id: string, binding: BackendBinding): Promise<void> {
    if (this.live.get(id) === binding.replicaId && this.live.delete(id)) {
      this.marks.unmarked([id]);
      this.options.onChange();
    }
    const record = await this.find(id, true);
    if (
      record?.backend?.replicaId === binding.replicaId &&
      record.backend.sessionId === binding.sessionId
    ) {
      await this.options.book.save(this.options.slug, id, withoutBackend(record));
    }
  }

  /** The replica went away (sleep, crash): every live session lost its backend session. */
  async replicaGone(): Promise<void> {
    const ids = [...this.live.keys()];
    this.live.clear();
    this.marks.unmarked(ids);
    await Promise.all(
      ids.map(async (id) => {
        const record = await this.find(id);
        if (record?.backend)
          await this.options.book.save(this.options.slug, id, withoutBackend(record));
      }),
    );
  }

  /** This controller stops; the backends may live on (other controller replicas use them). */
  dropLive(): void {
    this.marks.unmarked([...this.live.keys()]);
    this.marks.stop();
    this.live.clear();
  }

  /** The client's calls were answered: keep what a replay must restore. */
  async callsAnswered(id: string, calls: readonly ClientCall[]): Promise<void> {
    const record = await this.find(id);
    const next = record && afterCalls(record, calls);
    if (next) await this.options.book.save(this.options.slug, id, next);
  }

  /** Resolves when the session is bound anew (anywhere) or forgotten. */
  changed(id: string, signal: AbortSignal): Promise<void> {
    return this.options.book.changed(this.options.slug, id, signal);
  }

  /** Replays the session on `target` (once for concurrent callers); resolves with the binding. */
  rebind(
    id: string,
    record: SessionRecord,
    target: ReplayTarget,
    signal: AbortSignal,
  ): Promise<BackendBinding> {
    const running = this.rebinding.get(id);
    if (running) return running;
    const started = performance.now();
    const replay = (async () => {
      const { binding, protocolVersion } = await replaySession(
        target,
        record,
        signal,
        this.options.logger,
      );
      await this.options.book.bind(this.options.slug, id, {
        ...record,
        backend: binding,
        ...(protocolVersion ? { protocolVersion } : {}),
      });
      this.setLive(id, binding.replicaId);
      const durationMs = Math.round(performance.now() - started);
      this.options.events.event({
        server: this.options.slug,
        type: 'session-resumed',
        durationMs,
        message: `a session was replayed on ${binding.replicaId} in ${formatDuration(durationMs)}`,
        data: { replica: binding.replicaId },
      });
      return binding;
    })().finally(() => this.rebinding.delete(id));
    this.rebinding.set(id, replay);
    return replay;
  }

  private setLive(id: string, backendId: string): void {
    this.live.set(id, backendId);
    this.marks.marked([id]);
    this.options.onChange();
  }
}

function withoutBackend(record: SessionRecord): SessionRecord {
  const { backend: _gone, ...rest } = record;
  return rest;
}
