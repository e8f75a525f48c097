// The kubelet API, as much of it as `kubectl logs` needs: HTTPS on the nodes' kubeletEndpoint
// port with a serving certificate the apiserver trusts (--kubelet-certificate-authority), every
// caller authenticated by a client certificate (kube-apiserver's --kubelet-client-certificate)
// and authorized by a SubjectAccessReview, as a kubelet with webhook authorization does — GET
// /containerLogs/... is `get nodes/proxy` — then GET /containerLogs/{namespace}/{pod}/{container}
// and /healthz. Nothing else (exec, attach, port-forward, stats) is served.
import type { TLSSocket } from 'node:tls';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { logOptions, LogRequestError, streamLog, type LogSource } from './container-logs.ts';
import type { KubeApi } from './kube-api.ts';
import type { Logger } from './logger.ts';

export interface KubeletServing {
  certPem: string;
  keyPem: string;
  /** Verifies callers' client certificates. */
  clientCaPem: string;
}

export interface ServedPod {
  nodeName: string;
  containers: string[];
  /** The container's log source now (its status changes as it runs and restarts). */
  logSource(container: string): LogSource | undefined;
}

export interface KubeletServerOptions {
  api: KubeApi;
  serving: KubeletServing;
  /** Where to listen: the nodes' InternalIP. */
  host: string;
  /** 0: any free port (the nodes report the one chosen). */
  port?: number;
  nodeNames: string[];
  pod(namespace: string, name: string): ServedPod | undefined;
  logger: Logger;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

interface Caller {
  user: string;
  groups: string[];
}

/** Kubelet's webhook authorizer caches allowed answers 5 min and denied ones 30 s. */
const ALLOWED_TTL_MS = 5 * 60_000;
const DENIED_TTL_MS = 30_000;

function callerOf(req: IncomingMessage): Caller | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as
    { CN?: string; O?: string | string[] } | undefined;
  if (!subject?.CN) return undefined;
  const groups = subject.O === undefined ? [] : [subject.O].flat();
  return { user: subject.CN, groups: [...groups, 'system:authenticated'] };
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
}

export async function startKubeletServer(options: KubeletServerOptions): Promise<KubeletServer> {
  const { api, logger } = options;
  const decisions = new Map<string, { allowed: boolean; until: number }>();

  const authorized = async (caller: Caller, node: string): Promise<boolean> => {
    const key = `${caller.user}\u0000${caller.groups.join(',')}\u0000${node}`;
    const cached = decisions.get(key);
    if (cached && cached.until > Date.now()) return cached.allowed;
    const review = await api.request<{ status?: { allowed?: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: caller.user,
            groups: caller.groups,
            resourceAttributes: {
              verb: 'get',
              resource: 'nodes',
              subresource: 'proxy',
              name: node,
            },
          },
        },
      },
    );
    const allowed = review.status?.allowed === true;
    decisions.set(key, { allowed, until: Date.now() + (allowed ? ALLOWED_TTL_MS : DENIED_TTL_MS) });
    return allowed;
  };

  const containerLogs = async (
    req: IncomingMessage,
    res: ServerResponse,
    [namespace, podName, container]: string[],
  ): Promise<void> => {
    const pod = options.pod(namespace!, podName!);
    const caller = callerOf(req)!;
    const node = pod?.nodeName ?? options.nodeNames[0]!;
    if (!(await authorized(caller, node)))
      return sendError(
        res,
        403,
        `Forbidden (user=${caller.user}, verb=get, resource=nodes, subresource=proxy)`,
      );
    if (!pod) return sendError(res, 404, `pod "${podName}" does not exist`);
    if (!pod.containers.includes(container!))
      return sendError(res, 404, `container "${container}" not found in pod "${podName}"`);
    const query = new URL(req.url ?? '/', 'https://kubelet').searchParams;
    const settings = logOptions(query);
    const source = pod.logSource(container!)!;
    let closed = false;
    res.once('close', () => (closed = true));
    const out = {
      write(chunk: string) {
        if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(chunk);
      },
      get closed() {
        return closed;
      },
    };
    // Errors about the instance (no previous one, waiting to start) come before any output.
    await streamLog(
      source,
      () => options.pod(namespace!, podName!)?.logSource(container!),
      podName!,
      settings,
      out,
    );
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain' });
    res.end();
  };

  const server = https.createServer(
    {
      cert: options.serving.certPem,
      key: options.serving.keyPem,
      ca: options.serving.clientCaPem,
      requestCert: true,
      rejectUnauthorized: false, // an unauthenticated caller gets 401, as from a kubelet
    },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://kubelet');
      if (!callerOf(req)) return sendError(res, 401, 'Unauthorized');
      if (req.method !== 'GET') return sendError(res, 405, 'Method Not Allowed');
      if (url.pathname === '/healthz') return void res.end('ok');
      const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
      if (parts[0] !== 'containerLogs' || parts.length !== 4 || parts.some((p) => !p))
        return sendError(res, 404, '404 page not found');
      containerLogs(req, res, parts.slice(1)).catch((error: unknown) => {
        if (error instanceof LogRequestError) return sendError(res, error.status, error.message);
        logger.warn(`kubelet API: ${req.url}: ${String(error)}`);
        sendError(res, 500, `Internal Error: ${String(error)}`);
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
