// Client of a running controller's management API (/api/v1), for the operator CLI.
// Every failure becomes an Error whose message is fit to show a person as is: the CLI
// prints "mcpfleet: <message>" and exits 1, never a stack trace.
import type {
  ApiError,
  ApiKeyRecord,
  AuditPage,
  CreatedApiKey,
  FleetEvent,
  RegistryStatusView,
  ServerLogLine,
  ServerStatus,
} from '../api/types.ts';
import type { Role } from '../auth/principal.ts';
import type { EventQuery } from '../store/store.ts';
import { authorizationHeader, explainRefusal } from './credential.ts';

export const DEFAULT_CONTROLLER_URL = 'http://127.0.0.1:8080';
/**
 * A follow stream silent this long is taken for dead: the controller sends a keepalive comment
 * every 15 s, so three missed ones mean it (or the path to it) is gone.
 */
export const STREAM_SILENCE_MS = 45_000;

export interface ApiClientOptions {
  /** The controller's base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Bound on each request; default 10 s. */
  timeoutMs?: number;
  /** Gives up on a request at once when it aborts (Ctrl-C in `status --watch`). */
  signal?: AbortSignal;
  /** Sent as `Authorization: Bearer <token>` (MCPFLEET_TOKEN, --token). */
  token?: string;
}

/** POST /api/v1/keys. */
export interface NewKeyBody {
  name: string;
  role: Role;
  servers?: string[];
  /** ISO-8601. */
  expiresAt?: string;
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

/** A follow stream ended without being asked to: the controller stopped, or went silent. */
export class StreamEndedError extends Error {
  constructor(url: string, why: string) {
    super(`the controller at ${url} ${why}`);
    this.name = 'StreamEndedError';
  }
}

export interface FollowOptions {
  /** Ends the stream (Ctrl-C): the follow then resolves. */
  signal: AbortSignal;
  /** Default STREAM_SILENCE_MS. */
  silenceMs?: number;
  /** The controller accepted: the stream is open (what it sends comes next). */
  onOpen?: () => void;
}

export class ApiClient {
  readonly url: string;
  readonly #base: URL;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #token: string | undefined;

  constructor(options: ApiClientOptions) {
    this.#base = parseControllerUrl(options.url);
    this.url = options.url;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#signal = options.signal;
    this.#token = options.token;
  }

  createKey(body: NewKeyBody): Promise<CreatedApiKey> {
    return this.#request<CreatedApiKey>('POST', 'keys', body);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await this.#request<{ keys: ApiKeyRecord[] }>('GET', 'keys')).keys;
  }

  revokeKey(id: string): Promise<ApiKeyRecord> {
    return this.#request<ApiKeyRecord>('DELETE', `keys/${encodeURIComponent(id)}`);
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
    const body = await this.#request<{ events: FleetEvent[] }>('GET', eventsPath(query));
    return body.events;
  }

  /**
   * The last `limit` events oldest first, then each new one as it is recorded, until
   * `options.signal` aborts (resolves) or the stream ends by itself (StreamEndedError).
   */
  followEvents(
    query: EventQuery,
    onEvent: (event: FleetEvent) => void,
    options: FollowOptions,
  ): Promise<void> {
    return this.#follow(eventsPath(query, true), 'event', onEvent, options);
  }

  /**
   * One page of the audit log, newest first (operator): `params` are GET /api/v1/audit's
   * (server, principal, action, since, until, limit, cursor), passed as given.
   */
  audit(params: Record<string, string>): Promise<AuditPage> {
    return this.#request<AuditPage>('GET', `audit?${new URLSearchParams(params)}`);
  }

  /** A server's last `lines` log lines (default 100), oldest first. */
  async getLogs(slug: string, lines?: number): Promise<ServerLogLine[]> {
    const body = await this.#request<{ lines: ServerLogLine[] }>('GET', logsPath(slug, lines));
    return body.lines;
  }

  /** Its last `lines` log lines, then each new one, until aborted (as followEvents). */
  followLogs(
    slug: string,
    lines: number | undefined,
    onLine: (line: ServerLogLine) => void,
    options: FollowOptions,
  ): Promise<void> {
    return this.#follow(logsPath(slug, lines, true), 'log', onLine, options);
  }

  /**
   * Reads a text/event-stream answer, handing each `data` of `eventName` events to `onValue`
   * as JSON. --timeout bounds the wait for the answer to begin, STREAM_SILENCE_MS each quiet
   * spell after (keepalive comments count).
   */
  async #follow<T>(
    path: string,
    eventName: string,
    onValue: (value: T) => void,
    options: FollowOptions,
  ): Promise<void> {
    const target = new URL(`api/v1/${path}`, this.#base);
    const silenceMs = options.silenceMs ?? STREAM_SILENCE_MS;
    const watchdog = new AbortController();
    let silent: Error | undefined;
    let timer: NodeJS.Timeout | undefined;
    const expectWithin = (ms: number, error: Error): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = error;
        watchdog.abort();
      }, ms);
    };
    const signal = AbortSignal.any([options.signal, watchdog.signal]);
    const ended = (): boolean => options.signal.aborted;
    expectWithin(this.#timeoutMs, new ControllerTimeoutError(this.url, this.#timeoutMs));
    try {
      let response: Response;
      try {
        response = await fetch(target, {
          headers: { accept: 'text/event-stream', ...authorizationHeader(this.#token) },
          signal,
          redirect: 'error',
        });
      } catch (err) {
        if (ended()) return;
        throw silent ?? this.#transportError(err);
      }
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        throw this.#answerError(response, parseJson(text), 'GET', target);
      }
      options.onOpen?.();
      const quiet = new StreamEndedError(
        this.url,
        `sent nothing for ${silenceMs / 1000}s, not even a keepalive; giving up`,
      );
      expectWithin(silenceMs, quiet);
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      let buffered = '';
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (ended()) return;
          throw silent ?? this.#transportError(err);
        }
        if (chunk.done) break;
        expectWithin(silenceMs, quiet);
        buffered += decoder.decode(chunk.value, { stream: true });
        let boundary = buffered.indexOf('\n\n');
        while (boundary !== -1) {
          const frame = parseFrame(buffered.slice(0, boundary));
          buffered = buffered.slice(boundary + 2);
          if (frame.event === eventName && frame.data !== undefined) {
            const value = parseJson(frame.data);
            if (value !== undefined) onValue(value as T);
          }
          boundary = buffered.indexOf('\n\n');
        }
      }
      if (ended()) return;
      throw new StreamEndedError(this.url, 'ended the stream (did it stop or restart?)');
    } finally {
      clearTimeout(timer);
    }
  }

  #transportError(err: unknown): Error {
    // fetch reports refused/unknown-host/reset as "fetch failed" with the socket error as
    // its cause; none of that helps an operator more than "nothing answers there".
    return isTimeout(err)
      ? new ControllerTimeoutError(this.url, this.#timeoutMs)
      : new ControllerUnreachableError(this.url);
  }

  async #request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: object): Promise<T> {
    const target = new URL(`api/v1/${path}`, this.#base);
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...authorizationHeader(this.#token),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: this.#signal
          ? AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#signal])
          : AbortSignal.timeout(this.#timeoutMs),
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
    const answer = parseJson(text);
    if (response.ok) {
      if (answer === undefined) {
        throw new Error(
          `the controller at ${this.url} answered ${method} ${target.pathname} with something ` +
            'that is not JSON; is --url pointing at an mcpfleet controller?',
        );
      }
      return answer as T;
    }
    throw this.#answerError(response, answer, method, target);
  }

  /** An answer that is not a success: the API's own error, else its HTTP status. */
  #answerError(response: Response, body: unknown, method: string, target: URL): Error {
    const apiError = asApiError(body);
    if (apiError) {
      return explainRefusal(
        new ApiRequestError(response.status, apiError.error.code, apiError.error.message),
        this.url,
        this.#token,
      );
    }
    if (response.ok) {
      return new Error(
        `the controller at ${this.url} answered ${method} ${target.pathname} with something ` +
          'that is not an event stream; is --url pointing at an mcpfleet controller?',
      );
    }
    return explainRefusal(
      new ApiRequestError(
        response.status,
        'http',
        `the controller at ${this.url} answered ${method} ${target.pathname} with HTTP ` +
          `${response.status} ${response.statusText}`.trimEnd(),
      ),
      this.url,
      this.#token,
    );
  }
}

function eventsPath(query: EventQuery, follow = false): string {
  const params = new URLSearchParams();
  if (query.server !== undefined) params.set('server', query.server);
  if (query.type !== undefined) params.set('type', query.type);
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (follow) params.set('follow', 'true');
  return params.size > 0 ? `events?${params}` : 'events';
}

function logsPath(slug: string, lines: number | undefined, follow = false): string {
  const params = new URLSearchParams();
  if (lines !== undefined) params.set('lines', String(lines));
  if (follow) params.set('follow', 'true');
  const path = `servers/${encodeURIComponent(slug)}/logs`;
  return params.size > 0 ? `${path}?${params}` : path;
}

/** One SSE frame's event name and data (its lines joined); comments are skipped. */
function parseFrame(frame: string): { event: string; data: string | undefined } {
  let event = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return { event, data: data.length > 0 ? data.join('\n') : undefined };
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
