// A small REST client for the kubelet: JSON requests and line-delimited watch streams over one
// keep-alive TLS agent built from a KubeConfig (client-node's own clients open a new agent per call).
import type { KubeConfig } from '@kubernetes/client-node';
import type { RequestOptions } from 'node:https';
import { Agent, fetch } from 'undici';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestInit {
  body?: unknown;
  /** Defaults to application/json; patches pass their patch type. */
  contentType?: string;
  query?: Query;
  signal?: AbortSignal;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(method: string, path: string, status: number, body: unknown) {
    const status_ = body as { message?: string; reason?: string } | undefined;
    super(`${method} ${path}: ${status} ${status_?.message ?? JSON.stringify(body)}`);
    this.status = status;
    this.reason = status_?.reason;
  }
}

export const isNotFound = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 404;
export const isConflict = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 409;

export interface KubeApi {
  readonly server: string;
  request<T = unknown>(method: string, path: string, init?: RequestInit): Promise<T>;
  /**
   * One watch request: calls onEvent per event until the server ends the stream (resolves) or the
   * connection fails (rejects). The caller owns resourceVersion bookkeeping and reconnects.
   */
  watchOnce<T>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void>;
  close(): Promise<void>;
}

export async function createKubeApi(kubeConfig: KubeConfig): Promise<KubeApi> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubelet: the kubeconfig has no current cluster');
  const server = cluster.server.replace(/\/$/, '');
  const opts: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(opts);
  const agent = new Agent({
    connect: {
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: opts.rejectUnauthorized ?? true,
      ...(opts.servername ? { servername: opts.servername } : {}),
    },
    keepAliveTimeout: 30_000,
  });
  const baseHeaders: Record<string, string> = {};
  for (const [key, value] of Object.entries(opts.headers ?? {})) {
    if (value !== undefined) baseHeaders[key] = String(value);
  }
  // Opaque bearer tokens and exec plugins put their Authorization header here on every call.
  const headersFor = async (): Promise<Record<string, string>> => {
    const fresh: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(fresh);
    const headers = { ...baseHeaders };
    for (const [key, value] of Object.entries(fresh.headers ?? {})) {
      if (value !== undefined) headers[key] = String(value);
    }
    return headers;
  };

  const urlFor = (path: string, query?: Query): string => {
    const url = new URL(server + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  };

  return {
    server,
    async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
      const headers = await headersFor();
      headers.accept = 'application/json';
      let body: string | undefined;
      if (init.body !== undefined) {
        headers['content-type'] = init.contentType ?? 'application/json';
        body = JSON.stringify(init.body);
      }
      const response = await fetch(urlFor(path, init.query), {
        method,
        headers,
        body,
        dispatcher: agent,
        signal: init.signal ?? AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      let parsed: unknown = undefined;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      if (!response.ok) throw new KubeApiError(method, path, response.status, parsed);
      return parsed as T;
    },
    async watchOnce<T>(
      path: string,
      query: Query,
      onEvent: (event: WatchEvent<T>) => void,
      signal: AbortSignal,
    ): Promise<void> {
      const headers = await headersFor();
      headers.accept = 'application/json';
      const response = await fetch(urlFor(path, { ...query, watch: true }), {
        headers,
        dispatcher: agent,
        signal,
      });
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // keep the text
        }
        throw new KubeApiError('WATCH', path, response.status, parsed);
      }
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      }
    },
    async close(): Promise<void> {
      await agent.close().catch(() => undefined);
    },
  };
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
