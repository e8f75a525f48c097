// Cluster DNS for the test cluster, which has neither CoreDNS nor kube-proxy: a small
// authoritative server on the pod bridge (10.244.0.1:53, UDP, where the process kubelet points
// pods' /etc/resolv.conf) answering `<service>.<namespace>.svc.cluster.local` with the READY
// endpoint addresses of the Service's EndpointSlices — a headless-style answer that stands in
// for a ClusterIP plus kube-proxy. The resolver in the pod walks the kubelet's search path
// (`<ns>.svc.cluster.local svc.cluster.local cluster.local`, ndots:5) itself, so the short forms
// (`mcpfleet-postgres`, `mcpfleet-postgres.<ns>`) arrive here as those full names.
//
// Restriction: a client dials the pod IP directly, so a Service whose `port` differs from the
// port its endpoints listen on (targetPort) is not reachable on `port` here.
// `portMismatches()` lists those Services so a test can check that nothing in it dials one.
//
// Answers: A = the ready IPv4 endpoints (TTL 1 s); AAAA/other types of a Service name = no data;
// any other name under cluster.local = NXDOMAIN; names outside it = SERVFAIL (no upstream here).
import type { KubeConfig } from '@kubernetes/client-node';
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { createKubeApi } from '../kubelet/kube-api.ts';
import { toLogger, type Logger } from '../kubelet/logger.ts';
import { startReflector, type KubeObject } from '../kubelet/reflector.ts';

interface Service extends KubeObject {
  spec?: { ports?: { name?: string; port: number; targetPort?: number | string }[] };
}
interface EndpointSlice extends KubeObject {
  metadata?: KubeObject['metadata'] & { labels?: Record<string, string> };
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number }[];
}

export interface DnsAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL';
  addresses: string[];
}

export interface ClusterDns {
  readonly address: string;
  readonly port: number;
  /** What a query for `name` (type A) gets now. */
  resolve(name: string): DnsAnswer;
  /** `<ns>/<service>: port P → endpoints on Q` for every Service whose port is not its endpoints' port. */
  portMismatches(namespace?: string): string[];
  /** The names queried so far (lower case, no trailing dot), oldest first. */
  readonly queries: readonly string[];
  close(): Promise<void>;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

export async function startClusterDns(options: {
  kubeConfig: KubeConfig;
  address?: string;
  port?: number;
  domain?: string;
  logger?: Partial<Logger>;
}): Promise<ClusterDns> {
  const address = options.address ?? '10.244.0.1';
  const domain = options.domain ?? 'cluster.local';
  const logger = toLogger(options.logger);
  const api = await createKubeApi(options.kubeConfig);
  const services = startReflector<Service>({
    api,
    path: '/api/v1/services',
    logger,
    onChange() {},
  });
  const slices = startReflector<EndpointSlice>({
    api,
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    logger,
    onChange() {},
  });
  await Promise.all([services.synced, slices.synced]);

  const slicesOf = (namespace: string, service: string): EndpointSlice[] =>
    [...slices.store.values()].filter(
      (s) =>
        s.metadata?.namespace === namespace && s.metadata.labels?.[SERVICE_NAME_LABEL] === service,
    );

  const resolve = (name: string): DnsAnswer => {
    const fqdn = name.toLowerCase().replace(/\.$/, '');
    if (fqdn !== domain && !fqdn.endsWith(`.${domain}`))
      return { rcode: 'SERVFAIL', addresses: [] };
    const labels = fqdn.slice(0, -domain.length).split('.').filter(Boolean);
    // The zone's own structure (cluster.local, svc.cluster.local, <ns>.svc.cluster.local) exists.
    if (labels.length === 0 || (labels.at(-1) === 'svc' && labels.length <= 2))
      return { rcode: 'NOERROR', addresses: [] };
    if (labels.length !== 3 || labels[2] !== 'svc') return { rcode: 'NXDOMAIN', addresses: [] };
    const [service, namespace] = labels as [string, string];
    if (!services.get(namespace, service)) return { rcode: 'NXDOMAIN', addresses: [] };
    const addresses = new Set<string>();
    for (const slice of slicesOf(namespace, service)) {
      if (slice.addressType !== 'IPv4') continue;
      for (const endpoint of slice.endpoints ?? [])
        if (endpoint.conditions?.ready !== false)
          for (const ip of endpoint.addresses ?? []) addresses.add(ip);
    }
    return { rcode: 'NOERROR', addresses: [...addresses].sort() };
  };

  const queries: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, remote) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return; // not DNS: no answer, as a real server would drop it
    }
    const question = query.questions?.[0];
    if (!question) return;
    queries.push(question.name.toLowerCase().replace(/\.$/, ''));
    if (queries.length > 10_000) queries.splice(0, 5_000);
    const answer = resolve(question.name);
    const records =
      question.type === 'A' && answer.rcode === 'NOERROR'
        ? answer.addresses.map((ip) => ({
            type: 'A' as const,
            name: question.name,
            class: 'IN' as const,
            ttl: 1,
            data: ip,
          }))
        : [];
    const flags =
      dnsPacket.AUTHORITATIVE_ANSWER |
      (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) |
      RCODE[answer.rcode];
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags,
      questions: [question],
      answers: records,
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolveBind, reject) => {
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `cluster DNS: cannot listen on ${address}:${options.port ?? 53}/udp (${err.code ?? err.message}); is another test run's DNS using it?`,
        ),
      ),
    );
    socket.bind({ address, port: options.port ?? 53, exclusive: true }, () => resolveBind());
  });
  const bound = socket.address();

  return {
    address: bound.address,
    port: bound.port,
    resolve,
    queries,
    portMismatches(namespace) {
      const found: string[] = [];
      for (const service of services.store.values()) {
        const ns = service.metadata?.namespace ?? '';
        const name = service.metadata?.name ?? '';
        if (namespace !== undefined && ns !== namespace) continue;
        for (const port of service.spec?.ports ?? []) {
          const targets = new Set(
            slicesOf(ns, name).flatMap((s) =>
              (s.ports ?? [])
                .filter((p) => (p.name ?? '') === (port.name ?? ''))
                .map((p) => p.port),
            ),
          );
          const target = typeof port.targetPort === 'number' ? port.targetPort : undefined;
          if (
            (target !== undefined && target !== port.port) ||
            [...targets].some((t) => t !== port.port)
          )
            found.push(
              `${ns}/${name}: port ${port.port} → endpoints on ${[...targets].join(',') || String(port.targetPort)}`,
            );
        }
      }
      return found.sort();
    },
    async close() {
      services.stop();
      slices.stop();
      await new Promise<void>((done) => socket.close(() => done()));
      await api.close();
    },
  };
}
