// Management API (/api/v1): server status, wake/sleep, events, logs. Thin: every answer
// comes from the Fleet (logs: from the controller's in-memory ServerLogs); this file only
// maps paths, methods and errors to HTTP.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from '../audit/audit-log.ts';
import { auditManagement, managementAction } from '../audit/management-records.ts';
import type { ApiKeys } from '../auth/keys/api-keys.ts';
import { ANONYMOUS, type Principal } from '../auth/principal.ts';
import { FleetError, type Fleet } from '../fleet/fleet.ts';
import type { Logger } from '../observability/log.ts';
import { ServerLogs } from '../observability/server-logs.ts';
import { refusal, roleNeeded } from './api-roles.ts';
import { handleAuditRoute } from './audit-routes.ts';
import { followEvents } from './follow-events.ts';
import { FollowStreams } from './follow-stream.ts';
import { handleKeyRoute } from './key-routes.ts';
import { parseEventsQuery, parseLogsQuery } from './query.ts';
import { sendApiError, sendJson } from './send-json.ts';
import { sendStoreUnavailable } from './store-unavailable.ts';
import type { RegistryStatusView, ServerStatus } from './types.ts';

export const API_PREFIX = '/api/v1/';

/**
 * `principal`: who is calling (auth/access-gate.ts), for the role each route needs; without
 * one, ANONYMOUS (admin), as on a loopback controller with no identity configured.
 */
export type ApiHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  principal?: Principal,
) => Promise<void>;

export interface ApiOptions {
  /** The registry's standing, for GET /api/v1/registry. */
  registry?: () => RegistryStatusView;
  /** Each server's recent log lines (GET /api/v1/servers/<slug>/logs); none kept without. */
  serverLogs?: ServerLogs;
  /** How often an events follower reads the store; default 1 s. */
  eventPollMs?: number;
  /** The keepalive comment of follow streams; default 15 s. */
  keepaliveMs?: number;
  /** API keys (/api/v1/keys); without, those routes answer 503. */
  keys?: ApiKeys;
  /** The audit log: management actions are recorded in it, GET /api/v1/audit reads it. */
  audit?: AuditLog;
}

export interface Api {
  handle: ApiHandler;
  /** Ends the follow streams (the controller is closing). */
  close(): void;
}

export function createApiHandler(fleet: Fleet, logger: Logger, options: ApiOptions = {}): Api {
  const log = logger.child({ component: 'api' });
  const { registry } = options;
  const serverLogs = options.serverLogs ?? new ServerLogs();
  const streams = new FollowStreams(options.keepaliveMs);

  const handle: ApiHandler = async function handleApi(req, res, url, principal = ANONYMOUS) {
    const parts = url.pathname.slice(API_PREFIX.length).split('/');
    const method = req.method ?? 'GET';
    try {
      const slug = parts[0] === 'servers' && parts[1] ? decodeURIComponent(parts[1]) : undefined;
      const action = options.audit && managementAction(parts, method);
      const note =
        action &&
        auditManagement(options.audit!, res, principal, action, slug, keyIdOf(action, parts));
      const refused = refusal(principal, roleNeeded(parts, method), slug);
      if (refused !== undefined) {
        note?.denied(refused);
        sendApiError(res, 403, 'forbidden', refused);
        return;
      }
      // /api/v1/keys[/<id>]
      if (parts[0] === 'keys') {
        await handleKeyRoute(req, res, parts.slice(1), {
          keys: options.keys,
          hasServer: (server) => fleet.has(server),
          ...(note ? { onCreated: (id: string) => note.target(id) } : {}),
        });
        return;
      }
      // GET /api/v1/audit?server=&principal=&action=&since=&until=&limit=&cursor=
      if (parts.length === 1 && parts[0] === 'audit') {
        if (!allow(res, method, 'GET')) return;
        await handleAuditRoute(res, url, principal, options.audit, log);
        return;
      }
      // GET /api/v1/servers
      if (parts.length === 1 && parts[0] === 'servers') {
        if (!allow(res, method, 'GET')) return;
        sendJson(res, 200, { servers: fleet.list() });
        return;
      }
      // GET /api/v1/registry
      if (parts.length === 1 && parts[0] === 'registry' && registry) {
        if (!allow(res, method, 'GET')) return;
        sendJson(res, 200, registry());
        return;
      }
      // GET /api/v1/events?server=&type=&limit=
      if (parts.length === 1 && parts[0] === 'events') {
        if (!allow(res, method, 'GET')) return;
        const parsed = parseEventsQuery(url.searchParams);
        if (!parsed.ok) {
          sendApiError(res, 400, 'bad-query', parsed.message);
          return;
        }
        const server = parsed.query.server;
        if (server !== undefined && !fleet.has(server)) {
          sendApiError(res, 404, 'unknown-server', `Unknown server "${server}"`);
          return;
        }
        try {
          if (parsed.follow) {
            // The last `limit` events oldest first, then each new one: SSE `event` events.
            await followEvents(fleet, parsed.query, () => streams.open(res), {
              pollMs: options.eventPollMs,
              logger: log,
            });
            return;
          }
          sendJson(res, 200, { events: await fleet.events(parsed.query) });
        } catch (err) {
          if (res.headersSent) throw err;
          sendStoreUnavailable(res, err, log, 'event store');
        }
        return;
      }
      if (slug !== undefined) {
        // GET /api/v1/servers/<slug>
        if (parts.length === 2) {
          if (!allow(res, method, 'GET')) return;
          sendStatus(res, slug, fleet.status(slug));
          return;
        }
        // GET /api/v1/servers/<slug>/logs?lines=N[&follow=true]
        if (parts.length === 3 && parts[2] === 'logs') {
          if (!allow(res, method, 'GET')) return;
          if (!fleet.has(slug)) {
            sendStatus(res, slug, undefined);
            return;
          }
          const parsed = parseLogsQuery(url.searchParams);
          if (!parsed.ok) {
            sendApiError(res, 400, 'bad-query', parsed.message);
            return;
          }
          // The tail, then (following) each new line; nothing is logged in between.
          const tail = serverLogs.tail(slug, parsed.lines);
          if (!parsed.follow) {
            sendJson(res, 200, { lines: tail });
            return;
          }
          const stream = streams.open(res);
          for (const line of tail) stream.send('log', line);
          stream.onEnd(serverLogs.follow(slug, (line) => stream.send('log', line)));
          return;
        }
        // POST /api/v1/servers/<slug>/wake | /sleep
        if (parts.length === 3 && (parts[2] === 'wake' || parts[2] === 'sleep')) {
          if (!allow(res, method, 'POST')) return;
          if (!fleet.has(slug)) {
            sendStatus(res, slug, undefined);
            return;
          }
          const status = parts[2] === 'wake' ? await fleet.wake(slug) : await fleet.sleep(slug);
          sendJson(res, 200, status);
          return;
        }
      }
      sendApiError(res, 404, 'not-found', `No API route for ${method} ${url.pathname}`);
    } catch (err) {
      if (err instanceof FleetError) {
        const headers: Record<string, string> = {};
        if (err.retryAfterSeconds !== undefined) {
          headers['retry-after'] = String(Math.ceil(err.retryAfterSeconds));
        }
        sendApiError(res, err.status, err.code, err.message, headers);
        return;
      }
      if (err instanceof URIError) {
        sendApiError(res, 400, 'bad-path', 'Malformed percent-encoding in the path');
        return;
      }
      log.error({ err, path: url.pathname }, 'api request failed');
      sendApiError(res, 500, 'internal', 'Internal error; see the controller logs');
    }
  };

  return { handle, close: () => streams.closeAll() };
}

function sendStatus(res: ServerResponse, slug: string, status: ServerStatus | undefined): void {
  if (status === undefined) sendApiError(res, 404, 'unknown-server', `Unknown server "${slug}"`);
  else sendJson(res, 200, status);
}

/** The key a revoke names (the path's last part); a created key's id comes later. */
function keyIdOf(action: string, parts: readonly string[]): string | undefined {
  if (action !== 'keys.revoke') return undefined;
  try {
    return decodeURIComponent(parts[1]!);
  } catch {
    return parts[1];
  }
}

function allow(res: ServerResponse, method: string, expected: 'GET' | 'POST'): boolean {
  if (method === expected || (expected === 'GET' && method === 'HEAD')) return true;
  res.setHeader('allow', expected);
  sendApiError(res, 405, 'method-not-allowed', `Use ${expected} here, not ${method}`);
  return false;
}
