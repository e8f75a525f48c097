// One server's client-facing sessions, as the fleet sees them: which are bound to a backend
// of the running replica now (counted for replicas-follow-sessions, used to route), and how a
// session whose backend went away is bound again — replayed on a backend of the new replica,
// once however many requests ask at the same moment. Which client holds each live session and
// when it was last used (session-activity.ts) is what the per-client limit counts and the
// idle timeout ends: an idle session is forgotten and its backend session ended (its process
// freed); the client's next request gets 404 and it initializes again.
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
import { SessionActivity } from './session-activity.ts';
import type { SessionLimits } from './session-limits.ts';

export interface ServerSessionsOptions {
  slug: string;
  book: SessionBook;
  events: EventLog;
  logger: Logger;
  /** Whether the server's sessions are replayed (`sessions.resume`); the spec may change. */
  resumes: () => boolean;
  /** The number of live sessions changed. */
  onChange: () => void;
  /** The server's session limits now (the spec may change). */
  limits: () => SessionLimits;
  /** A session was ended for idleness: end its backend session too (frees its process). */
  onIdle: (binding: BackendBinding) => void;
}

/** The idle sweep runs this often at most, and at least every quarter of the timeout. */
const SWEEP_MAX_MS = 30_000;
const SWEEP_MIN_MS = 100;

export class ServerSessions {
  private readonly options: ServerSessionsOptions;
  /** Client session id → backend id, for sessions bound to a backend that runs now. */
  private readonly live = new Map<string, string>();
  private readonly rebinding = new Map<string, Promise<BackendBinding>>();
  private readonly marks: LiveSessionMarks;
  private readonly activity = new SessionActivity();
  private sweeper: NodeJS.Timeout | undefined;

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
    client?: string,
    principal?: string,
  ): Promise<string> {
    const id = await this.options.book.open(this.options.slug, {
      v: 1,
      backend,
      initialize,
      subscriptions: [],
      ...(backendEra ? { backendEra } : {}),
      ...(client !== undefined ? { client } : {}),
      ...(principal !== undefined ? { principal } : {}),
      activeAt: Date.now(),
    });
    this.setLive(id, backend.replicaId, client);
    return id;
  }

  /** A session bound (by another controller replica) to a backend that runs here too. */
  adopt(id: string, backendId: string, client: string | undefined): void {
    if (this.live.get(id) !== backendId) this.setLive(id, backendId, client);
  }

  /** DELETE, or a session that cannot be resumed lost its backend: it is over. */
  async closed(id: string): Promise<void> {
    this.marks.unmarked([id]);
    this.activity.drop(id);
    if (this.live.delete(id)) this.options.onChange();
    await this.options.book.forget(this.options.slug, id);
  }

  /** Live sessions `client` holds through this controller, initializes in flight included. */
  heldBy(client: string): number {
    return this.activity.countOf(client);
  }

  /** Initializes admitted and not answered yet (they will be sessions). */
  get reservations(): number {
    return this.activity.reservations;
  }

  /** An initialize of `client` was admitted: it counts until the returned function is called. */
  reserve(client: string): () => void {
    return this.activity.reserve(client);
  }

  /** A request in session `id` began; returns its end. Pings are not activity. */
  requestBegan(id: string, activity: boolean): () => void {
    if (activity) void this.noteActive(id);
    return this.activity.begin(id, activity);
  }

  /**
   * Other controller replicas may serve this session's next requests (no stickiness in a
   * cluster): its record says when it was last used, rewritten at most every quarter of the
   * idle timeout, so whichever replica sweeps it knows.
   */
  private async noteActive(id: string): Promise<void> {
    const record = await this.find(id);
    const now = Date.now();
    if (!record || now - (record.activeAt ?? 0) < this.options.limits().idleTimeoutMs / 4) return;
    await this.options.book.save(this.options.slug, id, { ...record, activeAt: now });
  }

  /** When retrying an initialize refused for a limit could succeed (seconds). */
  retryAfterSeconds(client?: string): number {
    return this.activity.secondsUntilOneFrees(this.options.limits().idleTimeoutMs, client);
  }

  /** The backend answered 404 for `binding`: it no longer has that session. */
  async lost(id: string, binding: BackendBinding): Promise<void> {
    if (this.live.get(id) === binding.replicaId && this.live.delete(id)) {
      this.marks.unmarked([id]);
      this.activity.drop(id);
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
    this.activity.clear();
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
    this.activity.clear();
    clearTimeout(this.sweeper);
    this.sweeper = undefined;
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
      this.setLive(id, binding.replicaId, record.client);
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

  private setLive(id: string, backendId: string, client: string | undefined): void {
    this.live.set(id, backendId);
    this.activity.hold(id, client);
    this.marks.marked([id]);
    this.options.onChange();
    this.armSweep();
  }

  private armSweep(): void {
    if (this.sweeper || this.live.size === 0) return;
    const every = Math.min(SWEEP_MAX_MS, this.options.limits().idleTimeoutMs / 4);
    this.sweeper = setTimeout(
      () => {
        this.sweeper = undefined;
        void this.endIdle().finally(() => this.armSweep());
      },
      Math.max(SWEEP_MIN_MS, every),
    );
    this.sweeper.unref();
  }

  /** Ends the sessions unused for the idle timeout: forgotten here, ended at their backend. */
  private async endIdle(): Promise<void> {
    const { idleTimeoutMs } = this.options.limits();
    const idle = this.activity.idle(idleTimeoutMs);
    await Promise.all(
      idle.map(async (id) => {
        const record = await this.find(id, true);
        // Bound elsewhere since (a replay on another controller replica): not ours to end.
        if (record?.backend && record.backend.replicaId !== this.live.get(id)) {
          this.activity.drop(id);
          return;
        }
        // Used through another controller replica meanwhile: not idle.
        if (record?.activeAt !== undefined && Date.now() - record.activeAt < idleTimeoutMs) {
          this.activity.usedElsewhere(id, record.activeAt);
          return;
        }
        this.options.logger.info(
          { session: id.slice(0, 8), idleMs: idleTimeoutMs },
          'ending an idle session',
        );
        this.options.events.event({
          server: this.options.slug,
          type: 'session-expired',
          message: `a session unused for ${formatDuration(idleTimeoutMs)} was ended`,
        });
        await this.closed(id);
        if (record?.backend) this.options.onIdle(record.backend);
      }),
    );
  }
}

function withoutBackend(record: SessionRecord): SessionRecord {
  const { backend: _gone, ...rest } = record;
  return rest;
}
