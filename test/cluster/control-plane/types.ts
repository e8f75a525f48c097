// What a started test control plane offers (see control-plane.ts), and how to start one.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ControlPlaneVersions } from './build.ts';

export interface ControlPlaneOptions {
  /** How long the processes get to come up once the binaries exist (default 60 s). */
  startTimeoutMs?: number;
  /** More kube-apiserver flags, appended last (so they win). */
  apiserverArgs?: string[];
  /** Where the processes' logs go (default: a fresh folder, kept after stop). */
  logsDir?: string;
}

export interface KubeletServingCredentials {
  certPem: string;
  keyPem: string;
  /** Verifies the client certificates of callers (kube-apiserver's among them). */
  clientCaPem: string;
}

export interface ControlPlane {
  /** https://10.244.0.1:PORT — reachable from the host and from pods on the bridge. */
  server: string;
  /** The CA that signed kube-apiserver's serving certificate. */
  caPem: string;
  adminKubeconfigPath: string;
  /** The issuer and audience of service-account tokens. */
  serviceAccountIssuer: string;
  versions: ControlPlaneVersions;
  logsDir: string;
  /** PIDs of the processes running now (etcd, kube-apiserver, …): for leak checks. */
  readonly pids: number[];
  /** Admin: CN=mcpfleet-admin, O=system:masters. */
  kubeConfig(): KubeConfig;
  /** A client certificate user (CN=user, O=groups) signed by the client CA. */
  userKubeConfig(user: string, groups?: string[]): KubeConfig;
  /**
   * What a process kubelet needs to serve the kubelet API to this apiserver: a serving
   * certificate for the node address the apiserver dials, and the CA of its client certificate.
   */
  kubeletServing(): KubeletServingCredentials;
  /** A bearer token of an existing ServiceAccount, from the TokenRequest API. */
  serviceAccountKubeConfig(namespace: string, name: string): Promise<KubeConfig>;
  /**
   * Restarts kube-apiserver (same port, certificates and etcd), then kube-controller-manager
   * and kube-scheduler; resolves once all three are healthy.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}
