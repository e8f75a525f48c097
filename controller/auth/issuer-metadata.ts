// Where an issuer keeps its signing keys: read from its metadata (RFC 8414 authorization
// server metadata, or OpenID Connect discovery), whose `issuer` must be the issuer itself
// (RFC 8414 §3.3: a document naming another issuer is not to be used).
export interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
}

const TIMEOUT_MS = 10_000;

/** The candidate metadata URLs of `issuer`, in the order the MCP spec has clients try them. */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  const urls = [`${url.origin}/.well-known/oauth-authorization-server${path}`];
  if (path) urls.push(`${url.origin}/.well-known/openid-configuration${path}`);
  urls.push(`${url.origin}${path}/.well-known/openid-configuration`);
  return urls;
}

export async function discoverIssuer(
  issuer: string,
  fetchFn: typeof fetch = fetch,
): Promise<IssuerMetadata> {
  const tried: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let response: Response;
    try {
      response = await fetchFn(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      tried.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (!response.ok) {
      tried.push(`${url}: HTTP ${response.status}`);
      await response.body?.cancel();
      continue;
    }
    const document = (await response.json().catch(() => undefined)) as
      Partial<IssuerMetadata> | undefined;
    if (document?.issuer?.replace(/\/+$/, '') !== issuer)
      throw new Error(`${url} names issuer ${JSON.stringify(document?.issuer)}, not ${issuer}`);
    if (typeof document.jwks_uri !== 'string') throw new Error(`${url} names no jwks_uri`);
    return { issuer, jwks_uri: document.jwks_uri };
  }
  throw new Error(`no metadata for issuer ${issuer} (${tried.join('; ')})`);
}
