// `mcpfleet audit`: who called what — each tools/call through the gateway and each management
// action (wake, sleep, keys), newest first, from GET /api/v1/audit (operator role). The filters
// go to the controller as given, so `--since 1h` is an hour by the controller's clock, and a bad
// one is refused there, in one line naming it.
import { Command, Option } from 'commander';
import { MAX_AUDIT_LIMIT } from '../../api/audit-query.ts';
import type { AuditEntry } from '../../api/types.ts';
import { AUDIT_ACTIONS } from '../../audit/audit-record.ts';
import { formatDuration, formatTable, formatTime } from '../format.ts';
import { parseCount } from '../option-parser.ts';
import { clientFor, print, withConnection, type ConnectionOptions } from './connection-options.ts';

interface AuditOptions extends ConnectionOptions {
  server?: string;
  principal?: string;
  action?: string;
  since?: string;
  until?: string;
  limit: number;
}

export function registerAuditCommand(program: Command): void {
  withConnection(
    program
      .command('audit')
      .description('Who called what: tool calls and management actions, newest first (operator)')
      .option('--server <slug>', "only this server's")
      .option('--principal <id|name>', 'only this caller: a key name, key:<id>, token:<iss>#<sub>')
      .addOption(new Option('--action <action>', 'only this action').choices(AUDIT_ACTIONS))
      .option('--since <when>', 'from this long ago (30m, 12h, 7d) or this time (ISO-8601)')
      .option('--until <when>', 'before this long ago or this time')
      .addOption(
        new Option('--limit <n>', 'show at most this many')
          .default(100)
          .argParser((value) => parseCount(value)),
      ),
    [
      'mcpfleet audit --since 1h',
      'mcpfleet audit --server github --principal ci-bot --since 7d',
      'mcpfleet audit --action keys.create --json',
    ],
  ).action(async (options: AuditOptions) => {
    const client = clientFor(options);
    const filters: Record<string, string> = {};
    for (const name of ['server', 'principal', 'action', 'since', 'until'] as const) {
      const value = options[name];
      if (value !== undefined) filters[name] = value;
    }
    const records: AuditEntry[] = [];
    let cursor: string | null = null;
    do {
      const limit = String(Math.min(MAX_AUDIT_LIMIT, options.limit - records.length));
      const page = await client.audit({ ...filters, limit, ...(cursor ? { cursor } : {}) });
      records.push(...page.records);
      cursor = page.next;
    } while (cursor !== null && records.length < options.limit);
    print(options.json ? { records } : formatAudit(records));
  });
}

export function formatAudit(records: AuditEntry[]): string {
  if (records.length === 0) return 'No audit records match.\n';
  const table = formatTable(
    [
      'TIME',
      'PRINCIPAL',
      'ACTION',
      'SERVER',
      'TOOL/TARGET',
      'DECISION',
      'STATUS',
      'DURATION',
      'REQUEST-ID',
    ],
    records.map((r) => [
      formatTime(r.at),
      r.principalName === r.principal ? r.principal : `${r.principalName} (${r.principal})`,
      r.action,
      r.server ?? '-',
      r.tool ?? r.target ?? '-',
      r.decision,
      r.completed ? String(r.status) : `${r.status} cut`,
      formatDuration(r.durationMs),
      r.requestId,
    ]),
  );
  // Why a call was refused is what the reader looks for next.
  const reasons = records
    .filter((r) => r.reason !== null)
    .map((r) => `${r.requestId}: ${r.reason}\n`);
  return reasons.length > 0 ? `${table}\n${reasons.join('')}` : table;
}
