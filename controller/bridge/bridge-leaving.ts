// What a bridge on its way out answers (its pod is being deleted, or its server put to sleep):
// one wording, so a controller that reached it a moment too late can tell "this pod is
// leaving, try the next" from "this server failed".
export const BRIDGE_SHUTTING_DOWN = 'MCP bridge is shutting down';
export const BRIDGE_CLOSED = 'MCP bridge closed';

/** Whether `text` (an answer's body) is a bridge saying it is leaving. */
export function saysBridgeLeaving(text: string): boolean {
  return text.includes(BRIDGE_SHUTTING_DOWN) || text.includes(BRIDGE_CLOSED);
}
