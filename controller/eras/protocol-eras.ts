// The two eras of the MCP wire. 2025 revisions: an `initialize` handshake opens a session
// (MCP-Session-Id), later requests carry only the method's own params. Revision 2026-07-28:
// no session and no initialize; every request carries who the client is in its `_meta`
// envelope, `server/discover` replaces the handshake, and Mcp-Method / Mcp-Name headers
// repeat the method and its target so intermediaries can route without reading the body.
// The gateway translates between the two (eras/*-translation.ts); this file names the facts.

export const MODERN_REVISION = '2026-07-28';
/** Revisions of the sessionless era this gateway speaks. */
export const MODERN_VERSIONS: readonly string[] = [MODERN_REVISION];
/** Revisions of the session era this gateway speaks, oldest first. */
export const LEGACY_VERSIONS: readonly string[] = [
  '2024-11-05',
  '2025-03-26',
  '2025-06-18',
  '2025-11-25',
];
export const LATEST_LEGACY_VERSION = '2025-11-25';

/** `_meta` keys of the per-request envelope (and of a result's server info). */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

/** JSON-RPC codes of revision 2026-07-28 (both are answered with HTTP 400). */
export const HEADER_MISMATCH = -32020;
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;
export const INVALID_PARAMS = -32602;
export const METHOD_NOT_FOUND = -32601;

/** Methods whose target the Mcp-Name header repeats, and where in params it sits. */
export const NAMED_METHODS: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

/** Who a modern client said it is, in one request's envelope. */
export interface Envelope {
  protocolVersion: string;
  clientInfo: Record<string, unknown>;
  capabilities: Record<string, unknown>;
  logLevel?: string;
}

export function isModernVersion(version: string | undefined): boolean {
  return version !== undefined && MODERN_VERSIONS.includes(version);
}

export function isKnownVersion(version: string): boolean {
  return MODERN_VERSIONS.includes(version) || LEGACY_VERSIONS.includes(version);
}

/** The `_meta` of a message's params, if it has one. */
export function metaOf(params: unknown): Record<string, unknown> | undefined {
  const meta = (params as { _meta?: unknown } | undefined)?._meta;
  return isObject(meta) ? meta : undefined;
}

/** The envelope a modern request carries; undefined when it carries no version claim. */
export function envelopeOf(params: unknown): Envelope | undefined {
  const meta = metaOf(params);
  const version = meta?.[META.protocolVersion];
  if (typeof version !== 'string') return undefined;
  const clientInfo = meta![META.clientInfo];
  const capabilities = meta![META.clientCapabilities];
  const logLevel = meta![META.logLevel];
  return {
    protocolVersion: version,
    clientInfo: isObject(clientInfo) ? clientInfo : { name: 'unknown', version: '0' },
    capabilities: isObject(capabilities) ? capabilities : {},
    ...(typeof logLevel === 'string' ? { logLevel } : {}),
  };
}

/** The envelope that says, on the modern wire, what a 2025 client said in its initialize. */
export function envelopeFromInitialize(
  initialize: Record<string, unknown>,
  logLevel: string | undefined,
): Record<string, unknown> {
  return {
    [META.protocolVersion]: MODERN_REVISION,
    [META.clientInfo]: isObject(initialize.clientInfo)
      ? initialize.clientInfo
      : { name: 'unknown', version: '0' },
    [META.clientCapabilities]: isObject(initialize.capabilities) ? initialize.capabilities : {},
    ...(logLevel ? { [META.logLevel]: logLevel } : {}),
  };
}

/** The 2025 version to answer a client's initialize with (its own, when we speak it). */
export function negotiatedLegacyVersion(requested: unknown): string {
  return typeof requested === 'string' && LEGACY_VERSIONS.includes(requested)
    ? requested
    : LATEST_LEGACY_VERSION;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
