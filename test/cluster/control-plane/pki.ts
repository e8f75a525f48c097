// Every certificate and key one control plane needs, in one folder: the serving CA and
// kube-apiserver's serving certificate, the client CA and the components' and admin's client
// certificates (with their kubeconfigs), the service-account token key pair, and the kubelet
// API's pair: the serving certificate a process kubelet presents on the node address and the
// client certificate kube-apiserver presents to it (for `kubectl logs`).
import { join } from 'node:path';
import { CertificateAuthority, createServiceAccountKeys, type KeyPair } from './certificates.ts';
import { writeKubeconfigFile } from './kubeconfig.ts';
import { KUBERNETES_SERVICE_IP } from './components.ts';

export const ADMIN_USER = 'mcpfleet-admin';
export const ADMIN_GROUPS = ['system:masters'];

export interface ControlPlanePki {
  dir: string;
  /** Signs kube-apiserver's serving certificate: what clients trust. */
  servingCa: CertificateAuthority;
  /** kube-apiserver's --client-ca-file: signs every user's client certificate. */
  clientCa: CertificateAuthority;
  apiserver: KeyPair;
  admin: KeyPair;
  adminKubeconfig: string;
  controllerManagerKubeconfig: string;
  schedulerKubeconfig: string;
  serviceAccount: { privateKeyPath: string; publicKeyPath: string };
  /** The kubelet API's serving certificate, for the node address (signed by servingCa). */
  kubeletServing: KeyPair;
  /** kube-apiserver's --kubelet-client-certificate (signed by clientCa, which kubelets trust). */
  apiserverKubeletClient: KeyPair;
}

/** kubeadm's name for the identity kube-apiserver uses towards kubelets. */
export const APISERVER_KUBELET_CLIENT = 'kube-apiserver-kubelet-client';

export function createControlPlanePki(
  dir: string,
  address: string,
  server: string,
): ControlPlanePki {
  const servingCa = CertificateAuthority.create(dir, 'serving-ca', 'mcpfleet-test-serving-ca');
  const clientCa = CertificateAuthority.create(dir, 'client-ca', 'mcpfleet-test-client-ca');
  const apiserver = servingCa.issue({
    name: 'apiserver',
    commonName: 'kube-apiserver',
    usage: 'server',
    hosts: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      '127.0.0.1',
      address,
      KUBERNETES_SERVICE_IP,
    ],
  });
  const client = (name: string, commonName: string, organizations: string[] = []) =>
    clientCa.issue({ name, commonName, organizations, usage: 'client' });
  const admin = client('admin', ADMIN_USER, ADMIN_GROUPS);
  const controllerManager = client('controller-manager', 'system:kube-controller-manager');
  const scheduler = client('scheduler', 'system:kube-scheduler');

  const kubeconfig = (name: string, user: string, pair: KeyPair) => {
    const path = join(dir, `${name}.kubeconfig`);
    writeKubeconfigFile(path, server, servingCa.certPem, user, pair);
    return path;
  };
  return {
    dir,
    servingCa,
    clientCa,
    apiserver,
    admin,
    adminKubeconfig: kubeconfig('admin', ADMIN_USER, admin),
    controllerManagerKubeconfig: kubeconfig(
      'controller-manager',
      'system:kube-controller-manager',
      controllerManager,
    ),
    schedulerKubeconfig: kubeconfig('scheduler', 'system:kube-scheduler', scheduler),
    serviceAccount: createServiceAccountKeys(dir),
    // Nodes register `address` (the pod bridge) as their InternalIP: what the apiserver dials.
    kubeletServing: servingCa.issue({
      name: 'kubelet-serving',
      commonName: 'system:node:process-kubelet',
      organizations: ['system:nodes'],
      usage: 'server',
      hosts: ['localhost', '127.0.0.1', address],
    }),
    apiserverKubeletClient: client('apiserver-kubelet-client', APISERVER_KUBELET_CLIENT, [
      'system:masters',
    ]),
  };
}
