// The pods of one awake server that sessions may be routed to. The first pod is the replica's
// own (the fleet probed it while waking); every pod that appears later — replicas following
// sessions — is probed here with a real MCP round trip before it gets a session, and dropped
// as soon as it stops running.
import type { Backend } from '../runtime.ts';
import type { PodEndpoint } from './pod-endpoint.ts';
import type { ServerPods } from './server-pods.ts';

const PROBE_TIMEOUT_MS = 60_000;

export class PodBackends {
  private readonly ready = new Map<string, Backend>();
  private readonly probing = new Set<string>();
  private readonly unwatch: () => void;
  private readonly closed = new AbortController();
  private readonly pods: ServerPods;
  private readonly slug: string;
  private readonly probe: (url: string, signal: AbortSignal) => Promise<void>;

  constructor(
    pods: ServerPods,
    slug: string,
    primary: PodEndpoint,
    probe: (url: string, signal: AbortSignal) => Promise<void>,
  ) {
    this.pods = pods;
    this.slug = slug;
    this.probe = probe;
    this.ready.set(primary.uid, { id: primary.name, url: primary.url });
    this.unwatch = pods.watch(slug, () => this.refresh());
    this.refresh();
  }

  list(): Backend[] {
    return [...this.ready.values()];
  }

  close(): void {
    this.unwatch();
    this.closed.abort();
  }

  private refresh(): void {
    const live = new Map(this.pods.endpoints(this.slug).map((e) => [e.uid, e]));
    for (const uid of this.ready.keys()) if (!live.has(uid)) this.ready.delete(uid);
    for (const [uid, endpoint] of live) {
      if (this.ready.has(uid) || this.probing.has(uid)) continue;
      this.probing.add(uid);
      const signal = AbortSignal.any([this.closed.signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
      this.probe(endpoint.url, signal).then(
        () => {
          this.probing.delete(uid);
          if (!this.closed.signal.aborted && this.pods.endpoint(this.slug, uid))
            this.ready.set(uid, { id: endpoint.name, url: endpoint.url });
        },
        () => this.probing.delete(uid),
      );
    }
  }
}
