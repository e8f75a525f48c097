// Which era a POST speaks, decided from the body first (a `_meta` envelope with a protocol
// version claim is 2026-07-28) with the headers as a cross-check, the way the official SDK
// classifies: a header that disagrees with the body is 400 / -32020 (HeaderMismatch), a
// version nobody here speaks is 400 / -32022 naming the ones we do, a modern version header
// without an envelope is 400 / -32602. Everything else is 2025-era traffic, unchanged.
import type { IncomingHttpHeaders } from 'node:http';
import type { MessagePeek } from '../gateway/jsonrpc.ts';
import {
  HEADER_MISMATCH,
  INVALID_PARAMS,
  LEGACY_VERSIONS,
  MODERN_VERSIONS,
  NAMED_METHODS,
  UNSUPPORTED_PROTOCOL_VERSION,
  envelopeOf,
  isKnownVersion,
  isModernVersion,
  type Envelope,
} from './protocol-eras.ts';

export type RequestEra =
  | { era: 'legacy' }
  | { era: 'modern'; envelope: Envelope; method: string; params: unknown; notification: boolean }
  | { era: 'rejected'; code: number; message: string; data?: Record<string, unknown> };

const INVALID_REQUEST = -32600;

export function classifyRequest(headers: IncomingHttpHeaders, peek: MessagePeek): RequestEra {
  const headerVersion = header(headers, 'mcp-protocol-version');
  if (peek.batch) {
    if (peek.calls.some((call) => envelopeOf(call.params) !== undefined))
      return rejected(INVALID_REQUEST, 'JSON-RPC batches are not part of revision 2026-07-28');
    return { era: 'legacy' };
  }
  const call = peek.calls[0];
  if (call === undefined) return { era: 'legacy' }; // a response to a server-initiated request
  const envelope = envelopeOf(call.params);
  const notification = peek.notification;

  if (envelope === undefined) {
    if (isModernVersion(headerVersion) && !notification)
      return rejected(
        INVALID_PARAMS,
        `The MCP-Protocol-Version header names ${headerVersion}, but params._meta carries no ` +
          `"io.modelcontextprotocol/protocolVersion": a ${headerVersion} request needs its envelope`,
        { envelope: { missing: ['_meta'] } },
      );
    if (headerVersion !== undefined && !isKnownVersion(headerVersion) && !peek.isInitialize)
      return unsupported(headerVersion, [...LEGACY_VERSIONS, ...MODERN_VERSIONS]);
    return { era: 'legacy' };
  }

  if (headerVersion !== undefined && headerVersion !== envelope.protocolVersion)
    return mismatch(
      'MCP-Protocol-Version',
      headerVersion,
      `the body's envelope names protocol version ${envelope.protocolVersion}`,
    );
  if (!isModernVersion(envelope.protocolVersion))
    return unsupported(envelope.protocolVersion, MODERN_VERSIONS);
  const methodHeader = header(headers, 'mcp-method');
  if (methodHeader !== call.method)
    return mismatch('Mcp-Method', methodHeader, `the body names method ${call.method}`);
  const field = NAMED_METHODS[call.method];
  if (field !== undefined) {
    const target = (call.params as Record<string, unknown> | undefined)?.[field];
    const nameHeader = header(headers, 'mcp-name');
    if (typeof target === 'string' && nameHeader !== target)
      return mismatch('Mcp-Name', nameHeader, `the body carries params.${field}=${target}`);
  }
  return { era: 'modern', envelope, method: call.method, params: call.params, notification };
}

function mismatch(name: string, value: string | undefined, body: string): RequestEra {
  const said =
    value === undefined ? `the required ${name} header is absent` : `${name} says ${value}`;
  return rejected(
    HEADER_MISMATCH,
    `Bad Request: the headers and body disagree: ${body} but ${said}`,
    {
      mismatch: { header: name, value: value ?? null },
    },
  );
}

function unsupported(requested: string, supported: readonly string[]): RequestEra {
  return rejected(
    UNSUPPORTED_PROTOCOL_VERSION,
    `Unsupported protocol version ${requested}; this gateway speaks ${supported.join(', ')}`,
    { supported: [...supported], requested },
  );
}

function rejected(code: number, message: string, data?: Record<string, unknown>): RequestEra {
  return { era: 'rejected', code, message, ...(data ? { data } : {}) };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
