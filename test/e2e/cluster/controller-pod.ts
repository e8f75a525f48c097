// The controller pod as the test sees it from the host: its address on the pod bridge, its HTTP
// API (Host: the pod IP, which the controller accepts as one of its own addresses) called with
// the credential the test holds once it has one, an MCP transport that sends it, its metrics,
// its log file (the kubelet's), and a command run inside it as `kubectl exec` would: in the
// container's namespaces, as its user, with the environment the kubelet gave the container.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execInContainer, materializeImage } from '../../cluster/images/index.ts';
import { collect } from '../../cluster/kubelet/container-starter.ts';
import type { PodInfo, ProcessKubelet } from '../../cluster/kubelet/index.ts';

export interface ControllerPod {
  info: PodInfo;
  url: string;
  /** The credential sent on the API and MCP calls below (an API key), once the test has one. */
  token: string | undefined;
  /** `token`: another credential for this call; null: none. */
  getJson<T>(path: string, token?: string | null): Promise<{ status: number; body: T }>;
  /** A transport to a server's MCP endpoint that sends `token`. */
  mcpTransport(slug: string): StreamableHTTPClientTransport;
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
  const authorization = (token: string | undefined | null): Record<string, string> =>
    token ? { authorization: `Bearer ${token}` } : {};
  const pod: ControllerPod = {
    info,
    url,
    token: undefined,
    async getJson<T>(path: string, token?: string | null) {
      const response = await fetch(`${url}${path}`, {
        headers: authorization(token === undefined ? pod.token : token),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: response.status, body: (await response.json()) as T };
    },
    mcpTransport(slug) {
      return new StreamableHTTPClientTransport(new URL(`${url}/servers/${slug}/mcp`), {
        requestInit: { headers: authorization(pod.token) },
      });
    },
    statusWithHost(path, host) {
      return new Promise((resolve, reject) => {
        const headers = { host, ...authorization(pod.token) };
        const req = request(`${url}${path}`, { headers, timeout: 10_000 }, (res) => {
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
      const { pid } = container();
      const child = execInContainer(pid!, layout, argv, {
        user: '10001:10001',
        env: processEnv(pid!),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const result = await collect(child, timeoutMs);
      return { exitCode: result.exitCode, output: result.output };
    },
  };
  return pod;
}

/** The environment a process started with (the pod's env, Secrets resolved, for a container). */
function processEnv(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(
    entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
}
