// Client of an MCP registry's read API, v0.1 (the official registry at
// registry.modelcontextprotocol.io, or any registry that speaks it, e.g. a company's own):
//   GET /v0.1/servers?search=&cursor=&limit=&version=     → ServerList
//   GET /v0.1/servers/{serverName}/versions               → ServerList, 404 if unknown
//   GET /v0.1/servers/{serverName}/versions/{version}     → ServerResponse, 404 if unknown
// as docs/reference/api/openapi.yaml of github.com/modelcontextprotocol/registry describes
// them. Every failure is an Error whose message is fit to show a person as is.
// No imports on purpose: the CLI loads this at start-up for DEFAULT_REGISTRY_URL.

export const DEFAULT_REGISTRY_URL = 'https://registry.modelcontextprotocol.io';
export const OFFICIAL_META_KEY = 'io.modelcontextprotocol.registry/official';
/** The official registry refuses larger pages; other registries may cap lower. */
export const MAX_PAGE_SIZE = 100;
/** A registry answer larger than this is no server list; reading stops there. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** A server.json as the registry serves it: kept as is, validated later by the check. */
export type ServerDocument = Record<string, unknown> & { name: string };

export interface OfficialMeta {
  status?: 'active' | 'deprecated' | 'deleted';
  publishedAt?: string;
  updatedAt?: string;
  isLatest?: boolean;
}

/** One entry of the API: the server.json and what the registry records about it. */
export interface ServerResponse {
  server: ServerDocument;
  _meta?: Record<string, unknown> & { [OFFICIAL_META_KEY]?: OfficialMeta };
}

export interface ServerList {
  servers: ServerResponse[];
  metadata?: { nextCursor?: string | null; count?: number };
}

export interface ListQuery {
  search?: string;
  cursor?: string;
  limit?: number;
  /** "latest" or an exact version. */
  version?: string;
}

/** The registry has no such server (or no such version of it): its 404. */
export class RegistryNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryNotFoundError';
  }
}

export interface RegistryClientOptions {
  /** Base URL, e.g. https://registry.modelcontextprotocol.io (a path prefix is kept). */
  url: string;
  /** Bound on each request; default 10 s. */
  timeoutMs?: number;
}

export class RegistryClient {
  readonly url: string;
  readonly #base: URL;
  readonly #timeoutMs: number;

  constructor(options: RegistryClientOptions) {
    this.url = options.url;
    this.#base = parseRegistryUrl(options.url);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** One version of a server; `version` may be "latest". */
  async getServer(name: string, version = 'latest'): Promise<ServerResponse> {
    const path = `v0.1/servers/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
    const body = await this.#get(path, () =>
      version === 'latest'
        ? `no server named ${name} in ${this.url}`
        : `no version ${version} of ${name} in ${this.url}`,
    );
    return asServerResponse(body, this.#describe(path));
  }

  /** Every version of a server, newest first. */
  async listVersions(name: string): Promise<ServerList> {
    const path = `v0.1/servers/${encodeURIComponent(name)}/versions`;
    const body = await this.#get(path, () => `no server named ${name} in ${this.url}`);
    return asServerList(body, this.#describe(path));
  }

  /** One page of the server list. */
  async listServers(query: ListQuery = {}): Promise<ServerList> {
    const params = new URLSearchParams();
    if (query.search !== undefined) params.set('search', query.search);
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.version !== undefined) params.set('version', query.version);
    const path = params.size > 0 ? `v0.1/servers?${params}` : 'v0.1/servers';
    const body = await this.#get(path, () => `${this.url} has no v0.1 server list (404)`);
    return asServerList(body, this.#describe('v0.1/servers'));
  }

  #describe(path: string): string {
    return `the registry at ${this.url} answered GET ${new URL(path, this.#base).pathname}`;
  }

  async #get(path: string, notFound: () => string): Promise<unknown> {
    const target = new URL(path, this.#base);
    let response: Response;
    let text: string;
    try {
      response = await fetch(target, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await readText(response, MAX_RESPONSE_BYTES);
    } catch (err) {
      throw this.#transportError(err);
    }
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = undefined; // said below, unless the status says more
    }
    if (response.status === 404) throw new RegistryNotFoundError(notFound());
    const said = this.#describe(path);
    if (!response.ok) {
      const reason = errorText(body);
      throw new Error(
        `${said} with HTTP ${response.status}${reason ? `: ${reason}` : ` ${response.statusText}`}`.trimEnd(),
      );
    }
    if (body === undefined) {
      throw new Error(
        `${said} with something that is not JSON; is --registry-url the base URL of an MCP registry (it serves /v0.1/servers)?`,
      );
    }
    return body;
  }

  #transportError(err: unknown): Error {
    if (err instanceof ResponseTooLargeError) {
      return new Error(`the registry at ${this.url} sent more than ${err.limit} bytes; stopped`);
    }
    if (isTimeout(err)) {
      return new Error(
        `the registry at ${this.url} did not answer within ${this.#timeoutMs / 1000}s (see --timeout)`,
      );
    }
    // fetch reports refused/unknown-host/reset/TLS as "fetch failed" with the socket error as
    // its cause: the cause's code is the part worth showing.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (err as Error).message;
    return new Error(
      `cannot reach the registry at ${this.url} (${detail}); check --registry-url or MCPFLEET_REGISTRY_URL`,
    );
  }
}

/** The base URL with a trailing slash, so a path prefix (https://host/mcp/) is kept. */
function parseRegistryUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--registry-url "${url}" is not a URL; e.g. ${DEFAULT_REGISTRY_URL}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`--registry-url "${url}" must be an http(s) URL; e.g. ${DEFAULT_REGISTRY_URL}`);
  }
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  parsed.search = '';
  parsed.hash = '';
  return parsed;
}

class ResponseTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`response larger than ${limit} bytes`);
    this.limit = limit;
  }
}

/** The body as text, refusing to buffer more than `limit` bytes. */
async function readText(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > limit) {
      await response.body.cancel().catch(() => {});
      throw new ResponseTooLargeError(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The reason in an error body: `{ "error": "..." }` as the OpenAPI describes, or an RFC 9457
 * problem (`detail`/`title`), which the official registry's framework also sends.
 */
function errorText(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { error, detail, title } = body as Record<string, unknown>;
  const text = [error, detail, title].find((v) => typeof v === 'string' && v.length > 0);
  return text as string | undefined;
}

function isTimeout(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function asServerResponse(value: unknown, said: string): ServerResponse {
  if (!isObject(value) || !isObject(value.server)) {
    throw new Error(`${said} with JSON that is not a server entry (no "server" object)`);
  }
  if (typeof value.server.name !== 'string') {
    throw new Error(`${said} with a server entry that has no "name"`);
  }
  if (value._meta !== undefined && !isObject(value._meta)) {
    throw new Error(`${said} with a server entry whose "_meta" is not an object`);
  }
  return value as unknown as ServerResponse;
}

function asServerList(value: unknown, said: string): ServerList {
  if (!isObject(value) || !Array.isArray(value.servers)) {
    throw new Error(`${said} with JSON that is not a server list (no "servers" array)`);
  }
  value.servers.forEach((entry) => asServerResponse(entry, said));
  const metadata = value.metadata;
  if (metadata !== undefined && !isObject(metadata)) {
    throw new Error(`${said} with a server list whose "metadata" is not an object`);
  }
  const cursor = metadata?.nextCursor;
  if (cursor !== undefined && cursor !== null && typeof cursor !== 'string') {
    throw new Error(`${said} with a "metadata.nextCursor" that is not a string`);
  }
  return value as unknown as ServerList;
}
