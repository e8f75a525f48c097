// GET /readyz[?timeout=<ms>], the fleet's wake check of a stdio server: 200 once a process
// of its own answered initialize and ping (initialize-check.ts; then it is stopped) — proven
// once per bridge and remembered (readiness-proof.ts) — else 503 with the reason (it died: its
// exit and stderr; it did not answer in time; the bridge is full or closing). Apart from the
// MCP routes (bridge-router.ts), which check Host and Origin before it as before them: it is
// no MCP request and never touches a session.
import type { ServerResponse } from 'node:http';
import type { BridgeChildren } from './bridge-children.ts';
import { BRIDGE_SHUTTING_DOWN } from './bridge-leaving.ts';
import { checkInitializes } from './initialize-check.ts';
import { LATEST_PROTOCOL_VERSION } from './protocol-version.ts';
import { DEFAULT_PROOF_TIMEOUT_MS, ReadinessProof } from './readiness-proof.ts';

const MAX_TIMEOUT_MS = 600_000;

/** The bridge's proof: each try checks a new process, when there is room for one. */
export function readinessProof(
  children: BridgeChildren,
  options: { killGraceMs: number | undefined; closed: AbortSignal },
): ReadinessProof {
  return new ReadinessProof(async (timeoutMs) => {
    const full = children.atCapacity();
    if (full !== undefined) return { ok: false, error: full };
    return checkInitializes(children.spawn('probe'), {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      timeoutMs,
      signal: options.closed,
      killGraceMs: options.killGraceMs,
    });
  });
}

export async function answerReadiness(
  url: string,
  res: ServerResponse,
  bridge: { closing: boolean; proof: ReadinessProof },
): Promise<void> {
  const asked = Number(new URL(url, 'http://bridge').searchParams.get('timeout'));
  const timeoutMs =
    Number.isFinite(asked) && asked > 0
      ? Math.min(asked, MAX_TIMEOUT_MS)
      : DEFAULT_PROOF_TIMEOUT_MS;
  const reply = (status: number, body: object): void => {
    if (!res.destroyed)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  if (bridge.closing) return reply(503, { ok: false, error: BRIDGE_SHUTTING_DOWN });
  const closed = new AbortController();
  res.once('close', () => closed.abort());
  const check = await bridge.proof.answer(timeoutMs, closed.signal);
  reply(check.ok ? 200 : 503, check);
}
