// Reading a running controller's audit log the way an operator's tools do: GET /api/v1/audit,
// and waiting (polling, generous deadline) until the batched writer has put records there.
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { AuditEntry, AuditPage } from '../../../controller/api/types.ts';

export async function readAudit(
  base: string,
  params: Record<string, string> = {},
  token?: string,
): Promise<{ status: number; body: AuditPage & { error?: { code: string; message: string } } }> {
  const reply = await request(`${base}/api/v1/audit?${new URLSearchParams(params)}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: reply.statusCode, body: (await reply.body.json()) as AuditPage };
}

/** The records matching `params` once there are at least `count` of them. */
export async function waitForAudit(
  base: string,
  params: Record<string, string>,
  count: number,
  token?: string,
  timeoutMs = 20_000,
): Promise<AuditEntry[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await readAudit(base, { limit: '1000', ...params }, token);
    assert.equal(status, 200, JSON.stringify(body));
    if (body.records.length >= count) return body.records;
    if (Date.now() > deadline)
      assert.fail(`${body.records.length} of ${count} audit records after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
