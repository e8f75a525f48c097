// GET /api/v1/audit (operator or admin, checked by the caller): the audit log newest first,
// filtered by server, principal (id or name), action and time, a page at a time — `next` is the
// cursor of the following page, null on the last. A key limited to some servers reads only
// their records, so it must name one of them.
import type { ServerResponse } from 'node:http';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Principal } from '../auth/principal.ts';
import type { Logger } from '../observability/log.ts';
import { encodeCursor, parseAuditQuery } from './audit-query.ts';
import { sendApiError, sendJson } from './send-json.ts';
import { sendStoreUnavailable } from './store-unavailable.ts';
import type { AuditPage } from './types.ts';

const DEFAULT_PAGE = 100;

export async function handleAuditRoute(
  res: ServerResponse,
  url: URL,
  principal: Principal,
  audit: AuditLog | undefined,
  log: Logger,
): Promise<void> {
  if (!audit) {
    sendApiError(res, 503, 'audit-unavailable', 'The audit log is not kept by this controller');
    return;
  }
  const parsed = parseAuditQuery(url.searchParams);
  if (!parsed.ok) {
    sendApiError(res, 400, 'bad-query', parsed.message);
    return;
  }
  const { query } = parsed;
  const limited = principal.servers;
  if (limited && (query.server === undefined || !limited.includes(query.server))) {
    sendApiError(
      res,
      403,
      'forbidden',
      `This credential is limited to ${limited.join(', ') || 'no servers'}: ask for one of ` +
        'them with ?server=',
    );
    return;
  }
  let page: AuditPage;
  try {
    // The limit asked is the one a full page is measured by, not the store's default.
    const limit = query.limit ?? DEFAULT_PAGE;
    const records = await audit.list({ ...query, limit });
    const last = records.at(-1);
    const full = records.length === limit;
    page = { records, next: full && last ? encodeCursor(last) : null };
  } catch (err) {
    sendStoreUnavailable(res, err, log, 'audit log');
    return;
  }
  sendJson(res, 200, page);
}
