// Writing a child's output to a client's HTTP response without holding it in memory: the one
// place the bridge writes SSE events. When the response cannot take more (the client does
// not read), the child's stdout is held until it drains, so backpressure reaches the child
// (its own writes then block) instead of the bridge buffering the flood: a notification
// flood to a client that did not read took the controller from 173 MB to 3.35 GB in 30 s.
// Where no child can be held (the shared sessionless child serves many clients, holding it
// for one would stall the others) the response's buffer is capped instead, and the caller
// ends the exchange with a JSON-RPC error once it is full.
import type { ServerResponse } from 'node:http';

export interface WriteLimits {
  /** Bytes a response may hold unsent; past it nothing more is written to it. */
  maxBufferedBytes: number;
  /** The response's buffer is full: hold the output feeding it until it drains or closes. */
  onBlocked?: (res: ServerResponse) => void;
}

/** Default cap on what one exchange's response holds unsent. */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Writes `text`; false (and nothing written) when `res` already holds more than the cap. */
export function writeBounded(res: ServerResponse, text: string, limits: WriteLimits): boolean {
  if (res.writableLength > limits.maxBufferedBytes) return false;
  if (!res.write(text)) limits.onBlocked?.(res);
  return true;
}
