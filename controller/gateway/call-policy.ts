// What the gateway's authorization (auth/policy/) says of one request, decided from its
// JSON-RPC body (never from the Mcp-Method / Mcp-Name headers: classify-request.ts already
// refused a 2026-07-28 request whose headers disagree with it, 400 / -32020):
//
// - a server the principal may not use: 403 with a JSON-RPC error, whatever the request;
// - a tools/call of a tool it may not call: answered here, never sent. HTTP 200 with a
//   JSON-RPC error response (code FORBIDDEN_TOOL): the call reached the MCP layer and was
//   refused there, which an MCP client hands to its caller as the call's error (the SDK's
//   McpError, with our message); a 403 would be a transport failure instead, and MCP clients
//   read a 403 as a token lacking scopes (their OAuth support may step up), pointless when no
//   token gets this tool. A batch holding such a call is refused whole (every request in it answered
//   with an error, the forbidden ones saying why, the others that they were not sent): only
//   2025-03-26 has batches, and sending the rest would mean merging the server's answers,
//   JSON or SSE, with the gateway's — so, as with a batch of duplicate ids, none of it runs.
// - a tools/list answer keeps only the tools the principal may call (JSON or SSE, rewritten
//   as it streams by eras/message-rewrite.ts), and says it is private to its caller.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ToolCallDecision } from '../audit/tool-call-records.ts';
import { wwwAuthenticate } from '../auth/challenge.ts';
import type { Principal } from '../auth/principal.ts';
import type { ServerPolicies } from '../auth/policy/server-policies.ts';
import type { MessageRewrite } from '../eras/message-rewrite.ts';
import {
  SERVER_ERROR,
  jsonRpcError,
  jsonRpcErrorBody,
  type JsonRpcId,
  type MessagePeek,
} from './jsonrpc.ts';
import { sendJsonBody } from './respond.ts';

/** The JSON-RPC error code of a tools/call the gateway refused (server error range). */
export const FORBIDDEN_TOOL = -32003;

/**
 * One tools/call of the request and what was decided of it: the policy's decision, or, for a
 * call refused with its request (a server the caller may not use, a batch refused whole),
 * that refusal. What the audit log records as its decision.
 */
export interface ToolCallVerdict {
  /** Where the call is in MessagePeek.calls. */
  index: number;
  /** The request's id (absent for a notification). */
  id?: string | number;
  tool: string;
  allowed: boolean;
  /** The rule that decided (PolicyDecision.rule): e.g. `github:access.tools.deny`. */
  rule: string;
  reason?: string;
}

export type CallVerdict =
  | {
      kind: 'refused';
      status: number;
      body: string;
      toolCalls: ToolCallVerdict[];
      /** Scopes that would admit this token: the 403 says so (MCP's scope step-up). */
      challenge?: { scopes: readonly string[]; description: string };
    }
  | { kind: 'allowed'; toolCalls: ToolCallVerdict[]; rewrite?: MessageRewrite };

const NONE: CallVerdict = Object.freeze({ kind: 'allowed', toolCalls: [] });

export function authorizeCall(
  policies: ServerPolicies | undefined,
  principal: Principal,
  slug: string,
  peek: MessagePeek | undefined,
): CallVerdict {
  if (!policies) return NONE;
  const calls = toolCallsOf(peek);
  const server = policies.mayUse(principal, slug);
  if (!server.allowed)
    return {
      kind: 'refused',
      status: 403,
      body: jsonRpcErrorBody(peek?.id ?? null, SERVER_ERROR, server.reason!, {
        reason: 'forbidden',
        server: slug,
        rule: server.rule,
      }),
      toolCalls: calls.map((call) => ({
        ...call,
        allowed: server.allowed,
        rule: server.rule,
        reason: server.reason,
      })),
      ...(server.scopes
        ? {
            challenge: {
              scopes: server.scopes,
              description: `server "${slug}" admits a token with the scope ${server.scopes.join(' or ')}`,
            },
          }
        : {}),
    };
  if (!peek) return NONE;

  const toolCalls = calls.map((call) => ({
    ...call,
    ...policies.mayCall(principal, slug, call.tool),
  }));
  const refused = toolCalls.find((c) => !c.allowed);
  if (refused) return refusal(peek, slug, toolCalls, refused);

  const lists = peek.calls.filter((c) => c.method === 'tools/list' && c.id !== undefined);
  if (lists.length === 0 || !policies.filtersTools(slug)) return { kind: 'allowed', toolCalls };
  const ids = new Set(lists.map((c) => JSON.stringify(c.id)));
  const may = (tool: string) => policies.mayCall(principal, slug, tool).allowed;
  return {
    kind: 'allowed',
    toolCalls,
    rewrite: (message) =>
      ids.has(JSON.stringify(message.id)) ? onlyCallable(message, may) : message,
  };
}

/** What the audit log records of a call (audit/tool-call-records.ts): the decision, and why not. */
export function auditVerdict(call: ToolCallVerdict): ToolCallDecision {
  return call.allowed
    ? { decision: 'allowed' }
    : { decision: 'denied', reason: `${call.reason} (rule ${call.rule})` };
}

/**
 * The refusal, answered. A token another scope would admit is told which, as the MCP spec's
 * scope step-up has it (`resourceMetadata`: the endpoint's RFC 9728 document, with a gate).
 */
export function sendRefusal(
  res: ServerResponse,
  refused: Extract<CallVerdict, { kind: 'refused' }>,
  headers: OutgoingHttpHeaders,
  resourceMetadata: (() => string) | undefined,
): void {
  const { challenge } = refused;
  const stepUp =
    challenge && resourceMetadata
      ? {
          'www-authenticate': wwwAuthenticate({
            error: 'insufficient_scope',
            ...challenge,
            resourceMetadata: resourceMetadata(),
          }),
        }
      : {};
  sendJsonBody(res, refused.status, refused.body, { ...headers, ...stepUp });
}

/** The tools/call entries with a tool name (without one the server answers it as invalid). */
function toolCallsOf(peek: MessagePeek | undefined): Omit<ToolCallVerdict, 'allowed' | 'rule'>[] {
  const calls: Omit<ToolCallVerdict, 'allowed' | 'rule'>[] = [];
  peek?.calls.forEach((call, index) => {
    if (call.method !== 'tools/call') return;
    const tool = (call.params as { name?: unknown } | undefined)?.name;
    if (typeof tool === 'string')
      calls.push({ index, ...(call.id !== undefined ? { id: call.id } : {}), tool });
  });
  return calls;
}

function refusal(
  peek: MessagePeek,
  slug: string,
  toolCalls: ToolCallVerdict[],
  refused: ToolCallVerdict,
): CallVerdict {
  const errorOf = (id: JsonRpcId, c: ToolCallVerdict, why: 'forbidden' | 'batch-refused') =>
    jsonRpcError(id, FORBIDDEN_TOOL, c.reason!, {
      reason: why,
      server: slug,
      tool: c.tool,
      rule: c.rule,
    });
  if (!peek.batch) {
    const body = JSON.stringify(errorOf(refused.id ?? null, refused, 'forbidden'));
    // A notification gets no answer; its refusal is the status (Streamable HTTP's 4xx).
    return { kind: 'refused', status: refused.id === undefined ? 403 : 200, body, toolCalls };
  }
  // The batch's other requests are not sent either: each is told so, and so is the audit.
  const notSent: ToolCallVerdict = {
    ...refused,
    reason: `not sent: this batch also calls tool "${refused.tool}", which is refused (${refused.reason}); nothing of the batch ran`,
  };
  const answers = peek.calls.flatMap((call, index) => {
    if (call.id === undefined) return [];
    const forbidden = toolCalls.find((c) => c.index === index && !c.allowed);
    return [
      forbidden
        ? errorOf(call.id, forbidden, 'forbidden')
        : errorOf(call.id, notSent, 'batch-refused'),
    ];
  });
  const verdicts = toolCalls.map((c) =>
    c.allowed ? { ...c, allowed: false, rule: notSent.rule, reason: notSent.reason } : c,
  );
  return { kind: 'refused', status: 200, body: JSON.stringify(answers), toolCalls: verdicts };
}

/** A tools/list result with only the tools `may` allows; private, being this caller's. */
function onlyCallable(
  message: Record<string, unknown>,
  may: (tool: string) => boolean,
): Record<string, unknown> {
  const result = message.result as { tools?: unknown; cacheScope?: unknown } | undefined;
  if (typeof result !== 'object' || result === null || !Array.isArray(result.tools)) return message;
  const tools = result.tools.filter(
    (t) => typeof (t as { name?: unknown })?.name === 'string' && may((t as { name: string }).name),
  );
  return {
    ...message,
    result: {
      ...result,
      tools,
      // 2026-07-28 results say who may reuse them: this list is only its caller's.
      ...(result.cacheScope !== undefined ? { cacheScope: 'private' } : {}),
    },
  };
}
