// OAuth 2.0 Protected Resource Metadata (RFC 9728) of the gateway and of each server's MCP
// endpoint: how an MCP client that got a 401 learns which authorization server to ask for a
// token, for which resource (RFC 8707) and scopes. Public, cacheable, readable from browsers.
import type { ServerResponse } from 'node:http';
import { sendApiError } from '../api/send-json.ts';
import type { ResourceUrls } from './resource-urls.ts';

export interface ResourceMetadataSource {
  urls: ResourceUrls;
  authorizationServers: readonly string[];
  scopes: readonly string[];
  /** Whether the gate asks for credentials at all (an open gateway protects nothing). */
  protects: () => boolean;
  /** Whether a server of that slug exists. */
  has: (slug: string) => boolean;
}

export function sendResourceMetadata(
  res: ServerResponse,
  target: { slug?: string },
  source: ResourceMetadataSource,
): void {
  if (!source.protects()) {
    sendApiError(
      res,
      404,
      'not-found',
      'This controller asks for no credentials: nothing is protected',
    );
    return;
  }
  let slug: string | undefined;
  if (target.slug !== undefined) {
    try {
      slug = decodeURIComponent(target.slug);
    } catch {
      slug = undefined;
    }
    if (slug === undefined || !source.has(slug)) {
      sendApiError(res, 404, 'not-found', `Unknown server "${target.slug}"`);
      return;
    }
  }
  const resource =
    target.slug === undefined ? source.urls.gateway() : source.urls.endpoint(target.slug);
  const body = JSON.stringify({
    resource,
    ...(source.authorizationServers.length > 0
      ? { authorization_servers: source.authorizationServers }
      : {}),
    ...(source.scopes.length > 0 ? { scopes_supported: source.scopes } : {}),
    bearer_methods_supported: ['header'],
    resource_name: slug === undefined ? 'mcpfleet gateway' : `mcpfleet: ${slug}`,
  });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'public, max-age=300',
    'access-control-allow-origin': '*',
  });
  res.end(body);
}
