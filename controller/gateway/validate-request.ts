// DNS-rebinding protection: which Host and Origin headers the controller accepts.
//
// A rebinding attack makes evil.example resolve to 127.0.0.1, so the browser sends
// `Host: evil.example` and `Origin: http://evil.example` to our loopback port. Checking
// Host (is it a name we serve?) and Origin (is the calling page one we trust?) stops it.
// Loopback names are always acceptable: only a client that really addressed this
// machine's loopback can send them.

export interface OriginPolicyOptions {
  /** The address the controller listens on (e.g. 127.0.0.1, 0.0.0.0). */
  listenHost: string;
  /** Extra accepted Host values: `name` (any port) or `name:port`; `*` accepts any. */
  allowedHosts?: readonly string[];
  /** Extra accepted Origins, e.g. `https://app.example.com`; `*` accepts any. */
  allowedOrigins?: readonly string[];
}

export type Verdict = { ok: true } | { ok: false; reason: string };

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
const OK: Verdict = { ok: true };

export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return LOOPBACK_NAMES.has(h) || /^127(\.\d{1,3}){3}$/.test(h) || h.endsWith('.localhost');
}

/** Splits `name[:port]` / `[v6]:port` into a lowercase hostname and an optional port. */
export function splitHost(value: string): { hostname: string; port: string | undefined } {
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end === -1) return { hostname: v, port: undefined };
    const rest = v.slice(end + 1);
    return {
      hostname: v.slice(0, end + 1),
      port: rest.startsWith(':') ? rest.slice(1) : undefined,
    };
  }
  const colon = v.lastIndexOf(':');
  if (colon === -1 || v.indexOf(':') !== colon) return { hostname: v, port: undefined };
  return { hostname: v.slice(0, colon), port: v.slice(colon + 1) };
}

export class OriginPolicy {
  readonly #anyHost: boolean;
  readonly #anyOrigin: boolean;
  /** Explicit hosts: hostname → ports accepted (undefined = any port). */
  readonly #hosts = new Map<string, Set<string> | undefined>();
  readonly #origins: Set<string>;

  constructor(options: OriginPolicyOptions) {
    const hosts = options.allowedHosts ?? [];
    const origins = options.allowedOrigins ?? [];
    // Bound to loopback, only loopback names can be legitimate; bound to a public address
    // with no list, we cannot know the names clients use, so Host is not restricted
    // (Origin still is).
    this.#anyHost =
      hosts.includes('*') || (hosts.length === 0 && !isLoopbackHostname(options.listenHost));
    this.#anyOrigin = origins.includes('*');
    for (const entry of hosts) {
      if (entry === '*') continue;
      const { hostname, port } = splitHost(entry);
      if (port === undefined) this.#hosts.set(hostname, undefined);
      else if (!this.#hosts.has(hostname) || this.#hosts.get(hostname) !== undefined) {
        const ports = this.#hosts.get(hostname) ?? new Set<string>();
        ports.add(port);
        this.#hosts.set(hostname, ports);
      }
    }
    this.#origins = new Set(
      origins.filter((o) => o !== '*').map((o) => normalizeOrigin(o) ?? o.toLowerCase()),
    );
  }

  /** Checks the Host and Origin headers of one request. */
  check(host: string | undefined, origin: string | undefined): Verdict {
    if (!this.#anyHost && !this.#hostAllowed(host)) {
      return {
        ok: false,
        reason: `Host "${host ?? ''}" is not allowed (add it with --allowed-hosts or MCPFLEET_ALLOWED_HOSTS)`,
      };
    }
    if (origin !== undefined && !this.#anyOrigin && !this.#originAllowed(origin)) {
      return {
        ok: false,
        reason: `Origin "${origin}" is not allowed (add it with --allowed-origins or MCPFLEET_ALLOWED_ORIGINS)`,
      };
    }
    return OK;
  }

  #hostAllowed(host: string | undefined): boolean {
    if (!host) return false;
    const { hostname, port } = splitHost(host);
    if (isLoopbackHostname(hostname)) return true;
    return this.#explicitHost(hostname, port);
  }

  #explicitHost(hostname: string, port: string | undefined): boolean {
    if (!this.#hosts.has(hostname)) return false;
    const ports = this.#hosts.get(hostname);
    return ports === undefined || (port !== undefined && ports.has(port));
  }

  #originAllowed(origin: string): boolean {
    const normalized = normalizeOrigin(origin);
    if (normalized === undefined) return false; // "null", garbage
    if (this.#origins.has(normalized)) return true;
    const url = new URL(normalized);
    // A page served from this machine's loopback (an inspector, a local app) is local.
    if (isLoopbackHostname(url.hostname)) return true;
    // A page on a host the operator named (--allowed-hosts) is same-site with us.
    return this.#explicitHost(url.hostname.toLowerCase(), url.port || undefined);
  }
}

function normalizeOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin.toLowerCase();
  } catch {
    return undefined;
  }
}
