// JSON-RPC bodies tests send by hand (raw fetch or sockets), written once.

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
