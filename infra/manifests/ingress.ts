// The controller's public entry point. Only what MCP clients need goes through it: the MCP
// endpoints under /servers/ and their Protected Resource Metadata. The management API (/api: wake, sleep, events) and /metrics stay
// in-cluster unless the stack lists them in `ingress.expose` (the API has no authentication of
// its own yet). Two flavours:
// - `alb`: an internet-facing ALB from the AWS Load Balancer Controller, sending to the pod IPs
//   (a ClusterIP Service has no node ports for `instance` targets), TLS from ACM (an ALB ignores
//   `tls.secretName`), HTTP redirected to HTTPS, and an idle timeout long enough for SSE streams;
// - `existing`: the cluster's own ingress controller and certificate Secret.
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IHTTPIngressPath } from 'kubernetes-models/networking.k8s.io/v1/HTTPIngressPath';
import type { AlbIngressConfig, IngressConfig } from '../config.ts';
import { METADATA_PREFIX } from '../../controller/auth/resource-urls.ts';
import {
  CONTROLLER_COMPONENT,
  CONTROLLER_NAME,
  platformLabels,
} from '../../registry/catalog/workload-names.ts';

/** Where MCP clients connect: /servers/<slug>/mcp. */
export const MCP_PATH_PREFIX = '/servers';
/** The annotation that names the ACM certificate; the program sets it to the validated ARN. */
export const ALB_CERTIFICATE_ANNOTATION = 'alb.ingress.kubernetes.io/certificate-arn';
/** TLS 1.3 and 1.2 only. */
export const ALB_SSL_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

export function albAnnotations(ingress: AlbIngressConfig): Record<string, string> {
  return {
    'alb.ingress.kubernetes.io/scheme': 'internet-facing',
    'alb.ingress.kubernetes.io/target-type': 'ip',
    'alb.ingress.kubernetes.io/listen-ports': JSON.stringify([{ HTTP: 80 }, { HTTPS: 443 }]),
    'alb.ingress.kubernetes.io/ssl-redirect': '443',
    'alb.ingress.kubernetes.io/ssl-policy': ALB_SSL_POLICY,
    'alb.ingress.kubernetes.io/backend-protocol': 'HTTP',
    'alb.ingress.kubernetes.io/healthcheck-path': '/readyz',
    'alb.ingress.kubernetes.io/load-balancer-attributes': `idle_timeout.timeout_seconds=${ingress.idleTimeoutSeconds}`,
  };
}

function paths(ingress: IngressConfig): IHTTPIngressPath[] {
  const backend = { service: { name: CONTROLLER_NAME, port: { name: 'http' } } };
  const routes: IHTTPIngressPath[] = [
    { path: MCP_PATH_PREFIX, pathType: 'Prefix', backend },
    // Where MCP clients discover the authorization server (RFC 9728): public by design.
    { path: METADATA_PREFIX, pathType: 'Prefix', backend },
  ];
  if (ingress.expose.includes('api')) routes.push({ path: '/api', pathType: 'Prefix', backend });
  if (ingress.expose.includes('metrics'))
    routes.push({ path: '/metrics', pathType: 'Exact', backend });
  return routes;
}

export function controllerIngress(namespace: string, ingress: IngressConfig): IIngress {
  const alb = ingress.mode === 'alb';
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: CONTROLLER_NAME,
      namespace,
      labels: platformLabels(CONTROLLER_NAME, CONTROLLER_COMPONENT),
      annotations: alb ? albAnnotations(ingress) : ingress.annotations,
    },
    spec: {
      ingressClassName: alb ? 'alb' : ingress.className,
      ...(alb ? {} : { tls: [{ hosts: [ingress.host], secretName: ingress.tlsSecretName }] }),
      rules: [{ host: ingress.host, http: { paths: paths(ingress) } }],
    },
  };
}
