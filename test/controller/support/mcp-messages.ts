// JSON-RPC bodies tests send by hand (raw fetch or sockets), and read back, written once.

/** An initialize request of a 2025-06-18 client, serialized. */
export function initializeBody(id: number | string = 1): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'test', version: '1' },
    },
  });
}

/** A JSON reply, or the one event of an SSE reply; what is not JSON as `{ text }`. */
export function parseReply(text: string): Record<string, unknown> {
  const json =
    text.startsWith('event:') || text.startsWith('data:') ? text.slice(text.indexOf('{')) : text;
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return { text };
  }
}
