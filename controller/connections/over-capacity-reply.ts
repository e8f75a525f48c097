// The answer to an ordinary request on a connection in the probe reserve (connection-guard.ts):
// 503 with Retry-After, as a JSON-RPC error on an MCP endpoint, the API's error elsewhere.
import type { ServerResponse } from 'node:http';
import { sendApiError } from '../api/send-json.ts';
import { SERVER_ERROR } from '../gateway/jsonrpc.ts';
import { sendJsonRpcError } from '../gateway/respond.ts';

const MESSAGE =
  'The controller is at its connection limit; only probes and the management API are served. Retry shortly';

export function sendOverCapacity(res: ServerResponse, mcp: boolean): void {
  const headers = { 'retry-after': '1' };
  if (mcp)
    sendJsonRpcError(res, 503, null, SERVER_ERROR, MESSAGE, headers, { reason: 'over-capacity' });
  else sendApiError(res, 503, 'over-capacity', MESSAGE, headers);
}
