// `mcpfleet registry search`: the latest version of each server whose name matches, page by
// page through the registry's cursors until `limit` are found or the list ends.
import {
  MAX_PAGE_SIZE,
  OFFICIAL_META_KEY,
  type RegistryClient,
  type ServerResponse,
} from './registry-api.ts';

/** A registry that keeps handing out cursors is cut off here rather than followed forever. */
const MAX_PAGES = 1000;

export interface SearchResult {
  entries: ServerResponse[];
  /** More servers match than `limit`. */
  more: boolean;
}

function isLatest(entry: ServerResponse): boolean {
  return entry._meta?.[OFFICIAL_META_KEY]?.isLatest === true;
}

/**
 * Up to `limit` servers whose name contains `text`. It asks for `version=latest`; a registry
 * that ignores the filter and lists every version still yields one row per server.
 */
export async function searchServers(
  client: RegistryClient,
  text: string,
  limit: number,
): Promise<SearchResult> {
  const byName = new Map<string, ServerResponse>();
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const list = await client.listServers({
      search: text,
      version: 'latest',
      limit: Math.min(limit - byName.size, MAX_PAGE_SIZE),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    for (const entry of list.servers) {
      const known = byName.get(entry.server.name);
      if (known === undefined || (isLatest(entry) && !isLatest(known))) {
        byName.set(entry.server.name, entry);
      }
    }
    const next = list.metadata?.nextCursor || undefined;
    if (next === undefined) {
      return { entries: [...byName.values()].slice(0, limit), more: byName.size > limit };
    }
    if (byName.size >= limit) return { entries: [...byName.values()].slice(0, limit), more: true };
    if (seenCursors.has(next)) {
      throw new Error(`the registry at ${client.url} sent the same cursor twice; stopped`);
    }
    seenCursors.add(next);
    cursor = next;
  }
  throw new Error(`the registry at ${client.url} still had more after ${MAX_PAGES} pages; stopped`);
}

/** What a server deploys from: its packages' registry types, then its remotes' transports. */
export function kindsOf(server: Record<string, unknown>): string {
  const kinds = new Set<string>();
  for (const pkg of Array.isArray(server.packages) ? server.packages : []) {
    const type = (pkg as { registryType?: unknown } | null)?.registryType;
    if (typeof type === 'string') kinds.add(type);
  }
  for (const remote of Array.isArray(server.remotes) ? server.remotes : []) {
    const type = (remote as { type?: unknown } | null)?.type;
    if (typeof type === 'string') kinds.add(`remote:${type}`);
  }
  return kinds.size > 0 ? [...kinds].join(',') : '-';
}
