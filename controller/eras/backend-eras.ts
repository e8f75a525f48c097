// What each backend speaks, learnt once per backend address and remembered: whether it
// answers `server/discover` (revision 2026-07-28), and whether it refused a 2025
// `initialize` with -32022 (it speaks nothing older). A backend's address changes when it
// is started again (a new port, a new pod), so the memory is bounded, oldest first out.
import { findReply, isConnectionError, postMessage } from '../mcp-client/post-message.ts';
import { META, MODERN_REVISION, isObject } from './protocol-eras.ts';

const REMEMBERED = 4096;
const DISCOVER_TIMEOUT_MS = 10_000;
const GATEWAY_ENVELOPE = {
  [META.protocolVersion]: MODERN_REVISION,
  [META.clientInfo]: { name: 'mcpfleet-gateway', version: '1' },
  [META.clientCapabilities]: {},
};

export class BackendEras {
  private readonly modern = new Map<string, Promise<boolean>>();
  private readonly modernOnly = new Map<string, true>();

  /**
   * Whether the backend at `url` serves revision 2026-07-28: one `server/discover` with a
   * neutral envelope. A backend that cannot be reached is not remembered (asked again).
   */
  speaksModern(url: string, headers: Record<string, string>): Promise<boolean> {
    let known = this.modern.get(url);
    if (known === undefined) {
      known = discoverServer(url, headers, GATEWAY_ENVELOPE).then(
        (result) =>
          Array.isArray(result.supportedVersions) &&
          result.supportedVersions.includes(MODERN_REVISION),
        (err: unknown) => {
          // Unreachable is not an answer: ask again next time. Anything else is a 2025 server.
          if (isConnectionError(err) || (err as Error).name === 'TimeoutError')
            this.modern.delete(url);
          return false;
        },
      );
      remember(this.modern, url, known);
    }
    return known;
  }

  /** The backend refused a 2025 initialize with -32022: the gateway translates for it. */
  markModernOnly(url: string): void {
    remember(this.modernOnly, url, true);
    remember(this.modern, url, Promise.resolve(true));
  }

  isModernOnly(url: string): boolean {
    return this.modernOnly.has(url);
  }
}

/** One `server/discover` of the backend at `url`: its result, or an error saying why not. */
export async function discoverServer(
  url: string,
  headers: Record<string, string>,
  envelope: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const id = 'mcpfleet-discover';
  const res = await postMessage(
    url,
    { jsonrpc: '2.0', id, method: 'server/discover', params: { _meta: envelope } },
    {
      headers: { ...headers, 'mcp-method': 'server/discover' },
      protocolVersion: MODERN_REVISION,
      signal: AbortSignal.timeout(DISCOVER_TIMEOUT_MS),
    },
  );
  const text = await res.text();
  const reply = findReply(text, res.headers.get('content-type') ?? '', id);
  if (!isObject(reply?.result))
    throw new Error(
      `server/discover failed: ${reply?.error?.message ?? (text.slice(0, 200) || `HTTP ${res.status}`)}`,
    );
  return reply.result;
}

function remember<T>(store: Map<string, T>, key: string, value: T): void {
  store.set(key, value);
  if (store.size > REMEMBERED) store.delete(store.keys().next().value!);
}
