// Egress rules for a server's NetworkPolicy. Vanilla NetworkPolicy matches IP blocks, not DNS
// names, so a host entry of the spec's allowlist becomes "public internet on those ports only":
// private ranges and the cloud metadata endpoint stay unreachable, and the hosts are recorded in
// an annotation for review (an FQDN-aware CNI policy can tighten it further; see docs/infra.md).
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
      rules.push({
        to: [{ ipBlock: { cidr: rule.cidr } }],
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
