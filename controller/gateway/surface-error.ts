// An error the controller answers before any server is asked — the access gate's challenge, a
// credential that could not be checked, a rate limit — in the protocol of what was called: a
// JSON-RPC error (id null: the body is not read yet) on an MCP endpoint, the API's JSON error
// on /api/v1.
import type { ServerResponse } from 'node:http';
import { sendApiError } from '../api/send-json.ts';
import { SERVER_ERROR } from './jsonrpc.ts';
import { sendJsonRpcError } from './respond.ts';

export interface SurfaceError {
  status: number;
  /** The API's error code; on an MCP endpoint the data's `reason`, unless `data` names one. */
  code: string;
  message: string;
  /** The JSON-RPC error's message when it says more than `message` ("Unauthorized: …"). */
  rpcMessage?: string;
  /** More of the JSON-RPC error's data. */
  data?: Record<string, unknown>;
  headers: Record<string, string>;
}

export function sendSurfaceError(
  res: ServerResponse,
  surface: 'mcp' | 'api',
  error: SurfaceError,
): void {
  const { status, code, message, headers } = error;
  if (surface === 'mcp')
    sendJsonRpcError(res, status, null, SERVER_ERROR, error.rpcMessage ?? message, headers, {
      reason: code,
      ...error.data,
    });
  else sendApiError(res, status, code, message, headers);
}
