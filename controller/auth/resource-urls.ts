// The canonical URLs of what the gateway protects (RFC 8707 resource indicators, RFC 9728
// metadata), built from the configured public URL — never from a request's Host header, which
// behind a TLS-terminating proxy names the wrong scheme or host.
import { MCP_PATH } from '../gateway/mcp-path.ts';

export const METADATA_PREFIX = '/.well-known/oauth-protected-resource';

export class ResourceUrls {
  /** `base`: the public URL (or, without one, the listen URL), without a trailing slash. */
  private readonly base: () => string;

  constructor(base: () => string) {
    this.base = base;
  }

  /** The gateway as a whole (also the management API's resource). */
  gateway(): string {
    return this.base();
  }

  /** One server's MCP endpoint; `encodedSlug` as it appears in the path. */
  endpoint(encodedSlug: string): string {
    return `${this.base()}/servers/${encodedSlug}/mcp`;
  }

  /** RFC 9728 §3.1: the well-known segment goes between the host and the resource's path. */
  metadataUrl(resource: string): string {
    const url = new URL(resource);
    const path = url.pathname === '/' ? '' : url.pathname;
    return `${url.origin}${METADATA_PREFIX}${path}`;
  }
}

/**
 * Which resource a metadata request asks about: the gateway (the bare well-known path) or a
 * server's endpoint (its encoded slug); undefined for anything else.
 */
export function metadataTarget(pathname: string): { slug?: string } | undefined {
  if (!pathname.startsWith(METADATA_PREFIX)) return undefined;
  const rest = pathname.slice(METADATA_PREFIX.length);
  if (rest === '' || rest === '/') return {};
  const mcp = MCP_PATH.exec(rest);
  return mcp ? { slug: mcp[1]! } : undefined;
}
