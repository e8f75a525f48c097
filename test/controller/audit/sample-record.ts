// An audit record as the gateway makes one for a tools/call, for tests that write rows
// themselves (the store's contract, retention); overrides change what the test is about.
import { randomUUID } from 'node:crypto';
import type { AuditRecord } from '../../../controller/audit/audit-record.ts';

export function sampleRecord(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    at: Date.parse('2026-03-01T10:00:00.000Z'),
    action: 'tools/call',
    principal: 'key:0123456789abcdef',
    principalName: 'ci-bot',
    server: 'everything',
    tool: 'echo',
    target: null,
    decision: 'allowed',
    reason: null,
    status: 200,
    completed: true,
    durationMs: 1.5,
    requestId: randomUUID(),
    ...overrides,
  };
}
