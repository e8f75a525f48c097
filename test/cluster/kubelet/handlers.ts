// The actions shared by probes and lifecycle hooks: httpGet (to the pod IP, port by number or by
// container port name), tcpSocket and exec (inside the container), each bounded by a timeout.
// Results follow kubelet's prober: HTTP 200-399 succeeds; redirects are not followed.
import type { IContainer } from 'kubernetes-models/v1/Container';
import net from 'node:net';
import { Agent, fetch } from 'undici';

export interface ActionResult {
  success: boolean;
  message: string;
}

export interface ActionTarget {
  container: IContainer;
  /** Where httpGet/tcpSocket connect when the action names no host: the pod IP. */
  podIP: string;
  exec(
    argv: string[],
    timeoutMs: number,
  ): Promise<{ exitCode: number | null; output: string; timedOut: boolean }>;
}

export interface Action {
  exec?: { command?: string[] };
  httpGet?: {
    host?: string;
    path?: string;
    port: number | string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { host?: string; port: number | string };
  grpc?: { port: number; service?: string };
  sleep?: { seconds: number };
}

const insecure = new Agent({ connect: { rejectUnauthorized: false } });

export function resolvePort(port: number | string, container: IContainer): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`couldn't find port ${port} in container ${container.name}`);
  return named.containerPort;
}

export async function runAction(
  action: Action,
  target: ActionTarget,
  timeoutMs: number,
  userAgent = 'kube-probe/1.34',
): Promise<ActionResult> {
  try {
    if (action.exec) {
      const result = await target.exec(action.exec.command ?? [], timeoutMs);
      if (result.timedOut) {
        return { success: false, message: `command timed out after ${timeoutMs / 1000}s` };
      }
      return {
        success: result.exitCode === 0,
        message: result.exitCode === 0 ? '' : `exit ${result.exitCode}: ${result.output.trim()}`,
      };
    }
    if (action.httpGet) {
      const get = action.httpGet;
      const port = resolvePort(get.port, target.container);
      const scheme = (get.scheme ?? 'HTTP').toLowerCase();
      const host = get.host || target.podIP;
      const pathPart = get.path ? (get.path.startsWith('/') ? get.path : `/${get.path}`) : '/';
      const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${pathPart}`;
      const headers: Record<string, string> = { 'user-agent': userAgent, accept: '*/*' };
      for (const header of get.httpHeaders ?? []) headers[header.name.toLowerCase()] = header.value;
      const response = await fetch(url, {
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        ...(scheme === 'https' ? { dispatcher: insecure } : {}),
      });
      // Read (a bounded part of) the body so the connection is released.
      await response.body?.cancel().catch(() => undefined);
      const ok = response.status >= 200 && response.status < 400;
      return {
        success: ok,
        message: ok ? '' : `HTTP probe failed with statuscode: ${response.status}`,
      };
    }
    if (action.tcpSocket) {
      const port = resolvePort(action.tcpSocket.port, target.container);
      const host = action.tcpSocket.host || target.podIP;
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host, port });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`dial tcp ${host}:${port}: i/o timeout`));
        }, timeoutMs);
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.destroy();
          resolve();
        });
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      return { success: true, message: '' };
    }
    if (action.sleep) {
      await new Promise((resolve) => setTimeout(resolve, action.sleep!.seconds * 1000));
      return { success: true, message: '' };
    }
    if (action.grpc)
      return { success: false, message: 'grpc probes are not supported by the process kubelet' };
    return { success: false, message: 'no action' };
  } catch (err) {
    return { success: false, message: String((err as Error).message ?? err) };
  }
}
