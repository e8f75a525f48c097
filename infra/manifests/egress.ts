// Egress rules for a server's NetworkPolicy. Vanilla NetworkPolicy matches IP blocks, not DNS
// names, so a host entry of the spec's allowlist becomes "public internet on those ports only":
// private ranges and the cloud metadata endpoint stay unreachable, and the hosts are recorded in
// an annotation for review (an FQDN-aware CNI policy can tighten it further; see docs/infra.md).
// A CIDR entry gets the same exceptions for every private range inside it: `0.0.0.0/0` (or
// `10.0.0.0/8`) must not open the instance metadata service, the VPC (data stores, nodes) or the
// EKS private endpoint. A CIDR inside a private range is an explicit, reviewed choice and stays
// as written, except that link-local (IMDS) is never reachable.
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { EgressRule } from '../../registry/catalog/spec.ts';

/** Never reachable through a host rule: RFC 1918, CGNAT, link-local (instance metadata). */
export const PRIVATE_RANGES = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
];

const LINK_LOCAL = '169.254.0.0/16';

/** IPv4 CIDR → [first address, size] as numbers. */
function range(cidr: string): [number, number] {
  const [address, bits] = cidr.split('/') as [string, string];
  const start = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  return [start - (start % size), size];
}

/** Whether `inner` lies within `outer` (and is not all of it). */
function strictlyInside(inner: string, outer: string): boolean {
  const [innerStart, innerSize] = range(inner);
  const [outerStart, outerSize] = range(outer);
  return (
    innerSize < outerSize &&
    innerStart >= outerStart &&
    innerStart + innerSize <= outerStart + outerSize
  );
}

/** The private ranges a CIDR rule must not reach: those inside it (NetworkPolicy allows no others). */
export function privateExceptions(cidr: string): string[] {
  if (cidr.includes(':')) return [];
  if (cidr === LINK_LOCAL || strictlyInside(cidr, LINK_LOCAL))
    throw new Error(
      `egress CIDR ${cidr} is link-local: the instance metadata service is never reachable from a server`,
    );
  return PRIVATE_RANGES.filter((privateRange) => strictlyInside(privateRange, cidr));
}

export const DNS_EGRESS: INetworkPolicyEgressRule = {
  to: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};

export function egressRules(allowlist: readonly EgressRule[]): INetworkPolicyEgressRule[] {
  const rules: INetworkPolicyEgressRule[] = [DNS_EGRESS];
  const publicPorts = new Set<number>();
  for (const rule of allowlist) {
    if (rule.cidr) {
      const except = privateExceptions(rule.cidr);
      rules.push({
        to: [{ ipBlock: { cidr: rule.cidr, ...(except.length > 0 ? { except } : {}) } }],
        ports: rule.ports.map((port) => ({ protocol: 'TCP', port })),
      });
    } else if (rule.host) {
      for (const port of rule.ports) publicPorts.add(port);
    }
  }
  if (publicPorts.size > 0) {
    rules.push({
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE_RANGES } }],
      ports: [...publicPorts].sort((a, b) => a - b).map((port) => ({ protocol: 'TCP', port })),
    });
  }
  return rules;
}
