// The MCP protocol revision the bridge (and the controller's own MCP clients) speak when the
// client named none: one constant, so the readiness check, the bridge's own initialize of a
// sessionless process and the health probe never drift apart.
export const LATEST_PROTOCOL_VERSION = '2025-11-25';
