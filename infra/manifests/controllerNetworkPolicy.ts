// Who may open a connection to the controller (the gateway, the management API and /metrics
// share its port): the ingress controller's traffic, Prometheus, and the other controller
// replicas. Everything else in the cluster, servers included, is refused; a compromised
// server cannot call /api to wake or sleep others. Egress stays open: the controller reaches
// the Kubernetes API, the data stores, the servers and remote MCP servers.
// With the ALB (IP targets) the connections come from the load balancer's addresses in the
// public subnets, so those CIDRs are admitted; with an in-cluster ingress controller, its
// namespace.
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import {
  CONTROLLER_COMPONENT,
  CONTROLLER_NAME,
  controllerSelectorLabels,
  platformLabels,
} from '../../registry/catalog/workload-names.ts';
import { CONTROLLER_PORT } from './platform.ts';

export type IngressSources =
  { kind: 'load-balancer-subnets'; cidrs: string[] } | { kind: 'namespace'; namespace: string };

const inNamespace = (namespace: string): INetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
});

export function controllerNetworkPolicy(options: {
  namespace: string;
  ingress: IngressSources;
  metricsNamespace: string;
}): INetworkPolicy {
  const port = [{ protocol: 'TCP' as const, port: CONTROLLER_PORT }];
  const fromIngress: INetworkPolicyPeer[] =
    options.ingress.kind === 'namespace'
      ? [inNamespace(options.ingress.namespace)]
      : options.ingress.cidrs.map((cidr) => ({ ipBlock: { cidr } }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: CONTROLLER_NAME,
      namespace: options.namespace,
      labels: platformLabels(CONTROLLER_NAME, CONTROLLER_COMPONENT),
    },
    spec: {
      podSelector: { matchLabels: controllerSelectorLabels() },
      policyTypes: ['Ingress'],
      ingress: [
        { from: fromIngress, ports: port },
        { from: [inNamespace(options.metricsNamespace)], ports: port },
        { from: [{ podSelector: { matchLabels: controllerSelectorLabels() } }], ports: port },
      ],
    },
  };
}
