// Command lines of the four control-plane processes. Flags follow controller-runtime envtest
// (pkg/internal/testing/controlplane) where it has them, plus the admission plugins, the
// ServiceAccount token machinery and the controller-manager and scheduler it leaves out.
import type { ControlPlanePki } from './pki.ts';

/** The issuer (and audience) of service-account tokens: what in-cluster clients expect. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc';
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
/** The first address of the service range: the `kubernetes` Service's ClusterIP. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const ADMISSION_PLUGINS = [
  'NamespaceLifecycle',
  'LimitRanger',
  'ServiceAccount',
  'PodSecurity',
  'DefaultStorageClass',
  'ResourceQuota',
  'NodeRestriction',
];

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

export function etcdArgs(ports: Ports, dataDir: string): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    '--name=mcpfleet-test',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=mcpfleet-test=${peer}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

export function apiserverArgs(
  ports: Ports,
  pki: ControlPlanePki,
  address: string,
  extra: string[] = [],
): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${pki.dir}`,
    `--tls-cert-file=${pki.apiserver.certPath}`,
    `--tls-private-key-file=${pki.apiserver.keyPath}`,
    `--client-ca-file=${pki.clientCa.certPath}`,
    '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${pki.serviceAccount.publicKeyPath}`,
    `--service-account-signing-key-file=${pki.serviceAccount.privateKeyPath}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    `--enable-admission-plugins=${ADMISSION_PLUGINS.join(',')}`,
    '--allow-privileged=false',
    // The kubelet API (pods/log): nodes report only their InternalIP that the apiserver can
    // dial (their Hostname does not resolve), served with a certificate of the serving CA.
    `--kubelet-client-certificate=${pki.apiserverKubeletClient.certPath}`,
    `--kubelet-client-key=${pki.apiserverKubeletClient.keyPath}`,
    `--kubelet-certificate-authority=${pki.servingCa.certPath}`,
    '--kubelet-preferred-address-types=InternalIP',
    // End open watches 2 s into a shutdown: otherwise SIGTERM waits on them (restart() took 12 s).
    '--shutdown-watch-termination-grace-period=2s',
    '--profiling=false',
    ...extra,
  ];
}

export function controllerManagerArgs(ports: Ports, pki: ControlPlanePki): string[] {
  return [
    `--kubeconfig=${pki.controllerManagerKubeconfig}`,
    '--controllers=*',
    `--service-account-private-key-file=${pki.serviceAccount.privateKeyPath}`,
    `--root-ca-file=${pki.servingCa.certPath}`,
    '--use-service-account-credentials=true',
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${ports.controllerManager}`,
    '--profiling=false',
  ];
}

export function schedulerArgs(ports: Ports, pki: ControlPlanePki): string[] {
  return [
    `--kubeconfig=${pki.schedulerKubeconfig}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${ports.scheduler}`,
    '--profiling=false',
  ];
}
