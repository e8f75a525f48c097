// A Fleet test double standing in for the lifecycle component: every known slug maps to a
// fixed, already running upstream. It records what the gateway tells it (leases acquired
// and released, sessions opened and closed) so tests can assert the gateway's side of
// the contract.
import {
  FleetError,
  type AcquireOptions,
  type Fleet,
  type Lease,
  type Upstream,
} from '../../../controller/fleet/fleet.ts';
import type { ServerStatus } from '../../../controller/api/types.ts';
import type { BackendBinding } from '../../../controller/sessions/session-record.ts';
import type { EventQuery, FleetEvent } from '../../../controller/store/store.ts';

export interface LeaseRecord {
  slug: string;
  options: AcquireOptions;
  releases: number;
  abort(): void;
}

export class StaticFleet implements Fleet {
  readonly upstreams = new Map<string, Upstream>();
  readonly leases: LeaseRecord[] = [];
  readonly opened: Array<{ slug: string; sessionId: string; replicaId: string }> = [];
  readonly closed: Array<{ slug: string; sessionId: string }> = [];
  readonly events_: FleetEvent[] = [];
  /** When set, acquire rejects with it. */
  failWith: FleetError | undefined;
  readonly states = new Map<string, ServerStatus['state']>();

  constructor(upstreams: Record<string, string | Upstream>) {
    for (const [slug, u] of Object.entries(upstreams)) {
      this.upstreams.set(
        slug,
        typeof u === 'string' ? { url: u, replicaId: `${slug}-0`, headers: {} } : u,
      );
      this.states.set(slug, 'ready');
    }
  }

  slugs(): string[] {
    return [...this.upstreams.keys()];
  }
  has(slug: string): boolean {
    return this.upstreams.has(slug);
  }

  async acquire(slug: string, options: AcquireOptions): Promise<Lease> {
    const upstream = this.upstreams.get(slug);
    if (!upstream) throw new FleetError(404, 'unknown-server', `Unknown server "${slug}"`);
    if (this.failWith) throw this.failWith;
    const controller = new AbortController();
    const record: LeaseRecord = {
      slug,
      options,
      releases: 0,
      abort: () => controller.abort(new Error('server going to sleep')),
    };
    this.leases.push(record);
    return {
      upstream,
      signal: controller.signal,
      release: () => {
        record.releases += 1;
      },
    };
  }

  /** Leases not yet released. */
  live(): LeaseRecord[] {
    return this.leases.filter((l) => l.releases === 0);
  }

  /** Hands out the backend's own id: this fleet keeps no sessions of its own. */
  async sessionOpened(slug: string, backend: BackendBinding): Promise<string> {
    this.opened.push({ slug, sessionId: backend.sessionId, replicaId: backend.replicaId });
    return backend.sessionId;
  }
  async sessionClosed(slug: string, sessionId: string): Promise<void> {
    this.closed.push({ slug, sessionId });
  }
  /** A backend that lost a session: it is over here (nothing to replay it with). */
  async sessionLost(slug: string, sessionId: string): Promise<boolean> {
    this.closed.push({ slug, sessionId });
    return false;
  }
  async sessionCallsAnswered(): Promise<void> {}
  async endSession(): Promise<'forward'> {
    return 'forward';
  }

  status(slug: string): ServerStatus | undefined {
    const state = this.states.get(slug);
    if (state === undefined) return undefined;
    return {
      slug,
      name: `test/${slug}`,
      title: slug,
      kind: 'workload',
      state,
      replicas: state === 'ready' ? 1 : 0,
      sessions: 0,
      inFlight: this.live().filter((l) => l.slug === slug).length,
      lastActivity: null,
      lastWakeDurationMs: null,
      lastError: null,
      healthMark: null,
      idleTimeoutMs: 300_000,
      minReplicas: 0,
      maxReplicas: 1,
      endpoint: `/servers/${slug}/mcp`,
    };
  }
  list(): ServerStatus[] {
    return this.slugs().map((s) => this.status(s)!);
  }
  async wake(slug: string): Promise<ServerStatus> {
    if (!this.has(slug)) throw new FleetError(404, 'unknown-server', `Unknown server "${slug}"`);
    if (this.failWith) throw this.failWith;
    this.states.set(slug, 'ready');
    return this.status(slug)!;
  }
  async sleep(slug: string): Promise<ServerStatus> {
    if (!this.has(slug)) throw new FleetError(404, 'unknown-server', `Unknown server "${slug}"`);
    this.states.set(slug, 'asleep');
    return this.status(slug)!;
  }
  async events(query: EventQuery): Promise<FleetEvent[]> {
    return this.events_
      .filter(
        (e) =>
          (query.server === undefined || e.server === query.server) &&
          (query.type === undefined || e.type === query.type),
      )
      .slice(0, query.limit ?? 100);
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
