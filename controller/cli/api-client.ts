// Client of a running controller's management API (/api/v1), for the operator CLI.
// Every failure becomes an Error whose message is fit to show a person as is: the CLI
// prints "mcpfleet: <message>" and exits 1, never a stack trace.
import type { ApiError, FleetEvent, RegistryStatusView, ServerStatus } from '../api/types.ts';
import type { EventQuery } from '../store/store.ts';

export const DEFAULT_CONTROLLER_URL = 'http://127.0.0.1:8080';

export interface ApiClientOptions {
  /** The controller's base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Bound on each request; default 10 s. */
  timeoutMs?: number;
}

/** The controller answered with an API error ({ error: { code, message } }). */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiRequestError';
    this.status = status;
    this.code = code;
  }
}

/** Nothing answered at the URL (connection refused, unknown host, reset). */
export class ControllerUnreachableError extends Error {
  constructor(url: string) {
    super(
      `cannot reach the controller at ${url} (is "npm start" running? set --url or MCPFLEET_URL)`,
    );
    this.name = 'ControllerUnreachableError';
  }
}

/** Something accepted the connection but no answer came in time. */
export class ControllerTimeoutError extends Error {
  constructor(url: string, timeoutMs: number) {
    super(`the controller at ${url} did not answer within ${timeoutMs / 1000}s (see --timeout)`);
    this.name = 'ControllerTimeoutError';
  }
}

export class ApiClient {
  readonly url: string;
  readonly #base: URL;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.#base = parseControllerUrl(options.url);
    this.url = options.url;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async listServers(): Promise<ServerStatus[]> {
    const body = await this.#request<{ servers: ServerStatus[] }>('GET', 'servers');
    return body.servers;
  }

  getRegistry(): Promise<RegistryStatusView> {
    return this.#request<RegistryStatusView>('GET', 'registry');
  }

  getServer(slug: string): Promise<ServerStatus> {
    return this.#request<ServerStatus>('GET', `servers/${encodeURIComponent(slug)}`);
  }

  wake(slug: string): Promise<ServerStatus> {
    return this.#request<ServerStatus>('POST', `servers/${encodeURIComponent(slug)}/wake`);
  }

  sleep(slug: string): Promise<ServerStatus> {
    return this.#request<ServerStatus>('POST', `servers/${encodeURIComponent(slug)}/sleep`);
  }

  async listEvents(query: EventQuery = {}): Promise<FleetEvent[]> {
    const params = new URLSearchParams();
    if (query.server !== undefined) params.set('server', query.server);
    if (query.type !== undefined) params.set('type', query.type);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const search = params.size > 0 ? `?${params}` : '';
    const body = await this.#request<{ events: FleetEvent[] }>('GET', `events${search}`);
    return body.events;
  }

  #transportError(err: unknown): Error {
    // fetch reports refused/unknown-host/reset as "fetch failed" with the socket error as
    // its cause; none of that helps an operator more than "nothing answers there".
    return isTimeout(err)
      ? new ControllerTimeoutError(this.url, this.#timeoutMs)
      : new ControllerUnreachableError(this.url);
  }

  async #request<T>(method: 'GET' | 'POST', path: string): Promise<T> {
    const target = new URL(`api/v1/${path}`, this.#base);
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      throw this.#transportError(err);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw this.#transportError(err);
    }
    const body = parseJson(text);
    if (response.ok) {
      if (body === undefined) {
        throw new Error(
          `the controller at ${this.url} answered ${method} ${target.pathname} with something ` +
            'that is not JSON; is --url pointing at an mcpfleet controller?',
        );
      }
      return body as T;
    }
    const apiError = asApiError(body);
    if (apiError) {
      throw new ApiRequestError(response.status, apiError.error.code, apiError.error.message);
    }
    throw new ApiRequestError(
      response.status,
      'http',
      `the controller at ${this.url} answered ${method} ${target.pathname} with HTTP ` +
        `${response.status} ${response.statusText}`.trimEnd(),
    );
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

export function parseControllerUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid controller URL "${url}": expected http://host:port`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`invalid controller URL "${url}": the scheme must be http:// or https://`);
  }
  // A base path (a controller behind a path-routing proxy) is kept: api/v1 goes under it.
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  return parsed;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function asApiError(body: unknown): ApiError | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return undefined;
  return { error: { code: typeof code === 'string' ? code : 'error', message } };
}
