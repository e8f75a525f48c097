// Leader election on a coordination.k8s.io/v1 Lease: a port of client-go's
// tools/leaderelection (@kubernetes/client-node has none). The rules that keep it safe:
//  - Expiry is judged by *this process's* clock: the time at which it last saw the record
//    change, plus the record's own leaseDurationSeconds. The remote renewTime is never compared
//    with the local clock, so clock skew between nodes does not matter.
//  - Writes are optimistic: replace with the resourceVersion just read; a 409 is a lost race.
//  - A leader that has not renewed within renewDeadline stops being leader *by the clock*
//    (isLeader() turns false by itself), whatever its in-flight requests do later, and
//    leaseDuration > renewDeadline leaves a margin before anyone else may take over.
// No fencing: like client-go, two leaders can briefly coexist around a transition, so the
// leader-only work (sleeping servers) re-checks its facts before acting.
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../observability/log.ts';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  leaseName: string;
  identity: string;
  logger: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
}

interface ObservedRecord {
  holder: string;
  durationMs: number;
  key: string;
}

export class LeaderElector {
  private readonly options: Required<
    Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>
  > &
    LeaderElectionOptions;
  private readonly api: CoordinationV1Api;
  private readonly log: Logger;
  private observed: ObservedRecord | undefined;
  private observedAt = 0;
  /** performance.now() of the last successful acquire or renew while leading; 0 = not leading. */
  private renewedAt = 0;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > 1.2 * retryPeriodMs)) {
      throw new Error(
        'leader election needs leaseDuration > renewDeadline > 1.2 × retryPeriod ' +
          `(got ${leaseDurationMs} / ${renewDeadlineMs} / ${retryPeriodMs} ms)`,
      );
    }
    this.options = { ...options, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.log = options.logger.child({ component: 'leader-election', lease: options.leaseName });
  }

  get identity(): string {
    return this.options.identity;
  }

  /** True only while the last renewal is younger than renewDeadline. */
  isLeader(): boolean {
    return this.leading && performance.now() - this.renewedAt < this.options.renewDeadlineMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.tick();
  }

  /** Stops campaigning; a leader releases the lease so a successor need not wait it out. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.loop;
    if (this.leading) {
      await this.release().catch((err: unknown) =>
        this.log.warn({ err }, 'could not release the lease'),
      );
      this.setLeading(false);
    }
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    const ok = await this.withDeadline(this.tryAcquireOrRenew()).catch((err: unknown) => {
      this.log.debug({ err }, 'lease attempt failed');
      return false;
    });
    if (!this.running) return;
    if (ok) {
      this.renewedAt = performance.now();
      this.setLeading(true);
    } else if (this.leading && !this.isLeader()) {
      this.log.warn('lease not renewed within the renew deadline: leadership lost');
      this.setLeading(false);
    }
    // Followers retry with jitter (client-go: retryPeriod × [1, 1.2)), so candidates spread out.
    const jitter = this.leading ? 1 : 1 + Math.random() * 0.2;
    this.timer = setTimeout(() => {
      this.loop = this.tick();
    }, this.options.retryPeriodMs * jitter);
    this.timer.unref();
  }

  /** No single attempt may outlive the renew deadline (a slow request counts as a failure). */
  private withDeadline<T>(attempt: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('lease request timed out')),
        this.options.renewDeadlineMs - this.options.retryPeriodMs,
      );
    });
    return Promise.race([attempt, timeout]).finally(() => clearTimeout(timer));
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, leaseName: name, identity } = this.options;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: this.record(identity, now, now, 0),
        },
      });
      this.observe(identity, this.options.leaseDurationMs, `${identity}|created`);
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    const key = [
      holder,
      spec.leaseDurationSeconds,
      String(spec.renewTime ?? ''),
      String(spec.acquireTime ?? ''),
      spec.leaseTransitions,
    ].join('|');
    if (this.observed?.key !== key) this.observe(holder, durationMs, key);
    const heldByOther = holder !== '' && holder !== identity;
    if (heldByOther && this.observedAt + this.observed!.durationMs > performance.now())
      return false;

    const transitions = spec.leaseTransitions ?? 0;
    const renewing = holder === identity;
    const acquireTime = renewing && spec.acquireTime ? new Date(spec.acquireTime) : now;
    try {
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion },
          spec: this.record(identity, acquireTime, now, renewing ? transitions : transitions + 1),
        },
      });
    } catch (err) {
      if ((err as { code?: number }).code === 409) return false; // lost the race
      throw err;
    }
    this.observe(identity, this.options.leaseDurationMs, `${identity}|${now.toISOString()}`);
    return true;
  }

  private async release(): Promise<void> {
    const { namespace, leaseName: name, identity } = this.options;
    const lease = await this.api.readNamespacedLease({ name, namespace });
    if (lease.spec?.holderIdentity !== identity) return;
    const now = new Date();
    await this.api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion },
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: lease.spec?.leaseTransitions ?? 0,
        },
      },
    });
  }

  private record(holder: string, acquireTime: Date, renewTime: Date, transitions: number) {
    return {
      holderIdentity: holder,
      leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
      acquireTime: microTime(acquireTime),
      renewTime: microTime(renewTime),
      leaseTransitions: transitions,
    };
  }

  private observe(holder: string, durationMs: number, key: string): void {
    this.observed = { holder, durationMs, key };
    this.observedAt = performance.now();
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.log.info(
      { identity: this.options.identity },
      leading ? 'became leader' : 'stopped leading',
    );
    if (leading) this.options.onStartedLeading?.();
    else {
      this.renewedAt = 0;
      this.options.onStoppedLeading?.();
    }
  }
}

/**
 * A Lease's times are MicroTime: exactly six fractional digits. client-node types them as Date
 * and would send Date's three (the apiserver answers 400), so they go over the wire as strings.
 */
function microTime(date: Date): Date {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}
