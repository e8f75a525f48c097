// Where the gateway's MCP endpoints are: /servers/<slug>/mcp (the slug percent-encoded).
export const MCP_PATH = /^\/servers\/([^/]+)\/mcp\/?$/;

/** The path of a request target ("/servers/x/mcp?y" → "/servers/x/mcp"). */
export function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}
