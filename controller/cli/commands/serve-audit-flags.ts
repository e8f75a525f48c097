// `mcpfleet serve` flags of the audit log (controller/audit/): how long records are kept.
import { Option, type Command } from 'commander';
import { parseRetention } from '../../audit/audit-duration.ts';
import type { AuditSettings } from '../../audit/audit-log.ts';
import { parser } from '../option-parser.ts';

export interface AuditFlags {
  auditRetention?: number;
}

export function addAuditOptions(command: Command): Command {
  return command.addOption(
    new Option(
      '--audit-retention <duration>',
      'how long audit records (who called which tool, wake, sleep, keys) are kept, e.g. 30d, ' +
        '90d or 12h; 0 keeps them all (default 30d). One controller at a time deletes older ones',
    )
      .env('MCPFLEET_AUDIT_RETENTION')
      .argParser(parser(parseRetention)),
  );
}

export function auditSettingsOf(flags: AuditFlags): Partial<AuditSettings> {
  return flags.auditRetention !== undefined ? { retentionMs: flags.auditRetention } : {};
}
