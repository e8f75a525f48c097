// A real Kubernetes control plane for tests, started in controller-runtime envtest's order:
// etcd, kube-apiserver (healthz, readyz), then kube-controller-manager and kube-scheduler, ready
// once the `default` namespace and its `default` ServiceAccount exist. Unlike envtest it runs
// the controllers and the scheduler, with RBAC, PodSecurity and ServiceAccount admission on.
// kube-apiserver listens on the pod bridge (10.244.0.1) so the host and pods both reach it.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { appendFileSync } from 'node:fs';
import { ensureControlPlaneBinaries, type ControlPlaneVersions } from './build.ts';
import {
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  schedulerArgs,
  SERVICE_ACCOUNT_ISSUER,
  type Ports,
} from './components.ts';
import { makeKubeConfig } from './kubeconfig.ts';
import { ADMIN_USER, createControlPlanePki, type ControlPlanePki } from './pki.ts';
import { ensurePodNetworkBridge, POD_GATEWAY_IP } from './pod-network.ts';
import { freePort } from './ports.ts';
import { ManagedProcess } from './processes.ts';
import { httpsGet, waitUntil } from './readiness.ts';
import type { ControlPlane, ControlPlaneOptions, KubeletServingCredentials } from './types.ts';
import { createWorkspace, type Workspace } from './workspace.ts';

export type { ControlPlane, ControlPlaneOptions, KubeletServingCredentials };

interface Parts {
  versions: ControlPlaneVersions;
  workspace: Workspace;
  pki: ControlPlanePki;
  binaries: { etcd: string; apiserver: string; kcm: string; scheduler: string };
  ports: Ports;
  options: ControlPlaneOptions;
}

class RunningControlPlane implements ControlPlane {
  readonly server: string;
  readonly caPem: string;
  readonly adminKubeconfigPath: string;
  readonly serviceAccountIssuer = SERVICE_ACCOUNT_ISSUER;
  readonly versions: ControlPlaneVersions;
  readonly logsDir: string;
  private readonly workspace: Workspace;
  private readonly pki: ControlPlanePki;
  private readonly binaries: Parts['binaries'];
  private readonly ports: Ports;
  private readonly options: ControlPlaneOptions;
  private etcd: ManagedProcess | undefined;
  private apiserver: ManagedProcess | undefined;
  private controllerManager: ManagedProcess | undefined;
  private scheduler: ManagedProcess | undefined;
  private stopped: Promise<void> | undefined;

  constructor(parts: Parts) {
    ({
      versions: this.versions,
      workspace: this.workspace,
      pki: this.pki,
      binaries: this.binaries,
      ports: this.ports,
      options: this.options,
    } = parts);
    this.server = `https://${POD_GATEWAY_IP}:${this.ports.apiserver}`;
    this.caPem = this.pki.servingCa.certPem;
    this.adminKubeconfigPath = this.pki.adminKubeconfig;
    this.logsDir = this.workspace.logsDir;
  }

  private spawn(name: string, binary: string, args: string[]): ManagedProcess {
    const child = ManagedProcess.start(name, binary, args, this.logsDir);
    this.workspace.recordChild(child.pid);
    return child;
  }

  private get processes(): ManagedProcess[] {
    return [this.etcd, this.apiserver, this.controllerManager, this.scheduler].filter(
      (p): p is ManagedProcess => p !== undefined,
    );
  }

  get pids(): number[] {
    return this.processes.flatMap((p) => (p.running && p.pid !== undefined ? [p.pid] : []));
  }

  private deadline(): number {
    return Date.now() + (this.options.startTimeoutMs ?? 60_000);
  }

  private async startApiserver(deadline: number): Promise<void> {
    const args = apiserverArgs(this.ports, this.pki, POD_GATEWAY_IP, this.options.apiserverArgs);
    this.apiserver = this.spawn('kube-apiserver', this.binaries.apiserver, args);
    const watch = [this.etcd, this.apiserver].filter((p) => p !== undefined);
    for (const path of ['/healthz', '/readyz']) {
      await waitUntil(
        `kube-apiserver ${path}`,
        async () => {
          const { status, body } = await httpsGet(`${this.server}${path}`, { ca: this.caPem });
          return status === 200 || `${status} ${body.slice(0, 300)}`;
        },
        { deadline, watch },
      );
    }
  }

  /** kube-controller-manager and kube-scheduler, up to their /healthz. */
  private async startControllers(deadline: number): Promise<void> {
    this.controllerManager = this.spawn(
      'kube-controller-manager',
      this.binaries.kcm,
      controllerManagerArgs(this.ports, this.pki),
    );
    this.scheduler = this.spawn(
      'kube-scheduler',
      this.binaries.scheduler,
      schedulerArgs(this.ports, this.pki),
    );
    const watch = this.processes;
    for (const [name, port] of [
      ['kube-controller-manager', this.ports.controllerManager],
      ['kube-scheduler', this.ports.scheduler],
    ] as const) {
      await waitUntil(
        `${name} /healthz`,
        async () => {
          const { status } = await httpsGet(`https://127.0.0.1:${port}/healthz`, {
            insecure: true,
          });
          return status === 200 || `status ${status}`;
        },
        { deadline, watch },
      );
    }
  }

  async start(): Promise<void> {
    const deadline = this.deadline();
    this.etcd = this.spawn(
      'etcd',
      this.binaries.etcd,
      etcdArgs(this.ports, this.workspace.etcdDataDir),
    );
    await waitUntil(
      'etcd /health',
      async () => {
        const res = await fetch(`http://127.0.0.1:${this.ports.etcdClient}/health`);
        return res.ok || `${res.status} ${await res.text()}`;
      },
      { deadline, watch: this.processes },
    );
    await this.startApiserver(deadline);
    await this.startControllers(deadline);
    const watch = this.processes;
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    await waitUntil(
      'namespace default',
      async () => {
        await core.readNamespace({ name: 'default' });
        return true;
      },
      { deadline, watch, intervalMs: 50 },
    );
    await waitUntil(
      'ServiceAccount default/default (made by kube-controller-manager)',
      async () => {
        await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
        return true;
      },
      { deadline, watch, intervalMs: 50 },
    );
  }

  kubeConfig(): KubeConfig {
    return makeKubeConfig(this.server, this.caPem, ADMIN_USER, this.pki.admin);
  }

  userKubeConfig(user: string, groups: string[] = []): KubeConfig {
    const safe = user.replace(/[^A-Za-z0-9._-]/g, '_');
    const pair = this.pki.clientCa.issue({
      name: `user-${safe}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
      commonName: user,
      organizations: groups,
      usage: 'client',
    });
    return makeKubeConfig(this.server, this.caPem, user, pair);
  }

  kubeletServing(): KubeletServingCredentials {
    const { certPem, keyPem } = this.pki.kubeletServing;
    return { certPem, keyPem, clientCaPem: this.pki.clientCa.certPem };
  }

  async serviceAccountKubeConfig(namespace: string, name: string): Promise<KubeConfig> {
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    const request = await core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 },
      },
    });
    const token = request.status?.token;
    if (!token) throw new Error(`control plane: no token issued for ${namespace}/${name}`);
    return makeKubeConfig(this.server, this.caPem, `system:serviceaccount:${namespace}:${name}`, {
      token,
    });
  }

  /**
   * Restarts the control plane's Kubernetes processes as a control-plane node restart would:
   * kube-apiserver on the same etcd, then kube-controller-manager and kube-scheduler anew.
   * The last two are restarted, not left running, because a restarted apiserver answers
   * watches with Forbidden until its RBAC cache has synced, and client-go reflectors back off
   * each failed watch up to 30 s (×2 jitter): left as they were, they would create and bind a
   * woken server's pod up to a minute later, in whichever test uses the shared plane next.
   */
  async restart(): Promise<void> {
    if (this.stopped) throw new Error('control plane: restart() after stop()');
    await Promise.all([this.scheduler?.stop(), this.controllerManager?.stop()]);
    await this.apiserver?.stop();
    appendFileSync(
      `${this.logsDir}/kube-apiserver.stderr.log`,
      `\n===== restarted by the test at ${new Date().toISOString()} =====\n`,
    );
    try {
      const deadline = this.deadline();
      await this.startApiserver(deadline);
      await this.startControllers(deadline);
    } catch (error) {
      throw this.withLogs(error);
    }
  }

  withLogs(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    return new Error(`${message}\ncontrol plane logs: ${this.logsDir}`, { cause: error });
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await Promise.all([this.scheduler?.stop(), this.controllerManager?.stop()]);
      await this.apiserver?.stop();
      await this.etcd?.stop();
      this.workspace.remove();
    })();
    return this.stopped;
  }
}

/** Builds or reuses the binaries, then starts a control plane; see ControlPlane. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = await ensureControlPlaneBinaries();
  ensurePodNetworkBridge();
  const workspace = await createWorkspace(binaries.dir, options.logsDir);
  let ports: Ports;
  let pki: ControlPlanePki;
  try {
    ports = {
      etcdClient: await freePort(),
      etcdPeer: await freePort(),
      apiserver: await freePort(POD_GATEWAY_IP),
      controllerManager: await freePort(),
      scheduler: await freePort(),
    };
    pki = createControlPlanePki(
      workspace.pkiDir,
      POD_GATEWAY_IP,
      `https://${POD_GATEWAY_IP}:${ports.apiserver}`,
    );
  } catch (error) {
    workspace.remove();
    throw error;
  }
  const plane = new RunningControlPlane({
    versions: binaries.versions,
    workspace,
    pki,
    binaries: {
      etcd: binaries.etcd,
      apiserver: binaries.kubeApiserver,
      kcm: binaries.kubeControllerManager,
      scheduler: binaries.kubeScheduler,
    },
    ports,
    options,
  });
  try {
    await plane.start();
  } catch (error) {
    await plane.stop(); // never leave etcd (or anything) running after a failed start
    throw plane.withLogs(error);
  }
  return plane;
}
