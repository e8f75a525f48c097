// Every certificate and key one control plane needs, in one folder: the serving CA and
// kube-apiserver's serving certificate, the client CA and the components' and admin's client
// certificates (with their kubeconfigs), and the service-account token key pair.
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
}

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
  };
}
