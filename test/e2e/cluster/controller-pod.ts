// The controller pod as the test sees it from the host: its address on the pod bridge, its HTTP
// API (Host: the pod IP, which the controller accepts as one of its own addresses), its metrics,
// its log file (the kubelet's), and a command run inside it (as `kubectl exec` would).
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { execInContainer, materializeImage } from '../../cluster/images/index.ts';
import { collect } from '../../cluster/kubelet/container-starter.ts';
import type { PodInfo, ProcessKubelet } from '../../cluster/kubelet/index.ts';

export interface ControllerPod {
  info: PodInfo;
  url: string;
  getJson<T>(path: string): Promise<{ status: number; body: T }>;
  /** The status of a GET sent with this Host header (fetch cannot set Host). */
  statusWithHost(path: string, host: string): Promise<number>;
  /** The value of one Prometheus sample, e.g. metric('mcpfleet_registry_reloads_total', { outcome: 'applied' }). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  log(): string;
  exec(argv: string[], timeoutMs?: number): Promise<{ exitCode: number | null; output: string }>;
}

export function controllerPod(
  kubelet: ProcessKubelet,
  namespace: string,
  image: string,
): ControllerPod {
  const info = kubelet
    .pods()
    .find((p) => p.namespace === namespace && p.name.startsWith('mcpfleet-controller-'));
  if (!info?.podIP) throw new Error(`no running controller pod in ${namespace}`);
  const url = `http://${info.podIP}:8080`;
  const container = () => {
    const current = kubelet
      .pod(namespace, info.name)
      ?.containers.find((c) => c.name === 'controller');
    if (!current) throw new Error(`pod ${info.name} has no controller container now`);
    return current;
  };
  return {
    info,
    url,
    async getJson<T>(path: string) {
      const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
      return { status: response.status, body: (await response.json()) as T };
    },
    statusWithHost(path, host) {
      return new Promise((resolve, reject) => {
        const req = request(`${url}${path}`, { headers: { host }, timeout: 10_000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let total = 0;
      for (const line of text.split('\n')) {
        const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const sample = Object.fromEntries(
          [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
        );
        if (Object.entries(labels).every(([k, v]) => sample[k] === v)) total += Number(match[3]);
      }
      return total;
    },
    log: () => readFileSync(container().logPath!, 'utf8'),
    async exec(argv, timeoutMs = 15_000) {
      const layout = await materializeImage(image);
      const child = execInContainer(container().pid!, layout, argv, {
        user: '10001:10001',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const result = await collect(child, timeoutMs);
      return { exitCode: result.exitCode, output: result.output };
    },
  };
}
