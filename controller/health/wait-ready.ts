// Readiness on wake: probe until a real MCP round trip succeeds. Connection refused means
// the process is still starting, so retry quickly; an answer that is an error (e.g. the
// bridge reporting that the process died) is final. Bounded by `signal` (the wake deadline).
import { isConnectionError, McpProbe } from './mcp-probe.ts';

const RETRY_MS = 10;

export async function waitUntilReady(
  probe: McpProbe,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    if (signal.aborted) throw abortReason(signal);
    const result = await probe.check(timeoutMs, signal);
    if (result.ok) return;
    if (signal.aborted) throw abortReason(signal);
    if (!result.unreachable) throw new Error(result.error ?? 'probe failed');
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/**
 * The wake check of a stdio server behind the bridge: its GET /readyz, where a child of the
 * bridge's own must answer initialize (then ping) within `timeoutMs`. A ping answered before
 * initialize would prove nothing: a server may never answer initialize, and every client
 * would wait on it. The warm spare is not spent: it boots alongside the checked child and
 * is there for the first client. `retry`: a bridge still starting (a pod's) refuses
 * connections for a while, so those are retried; an answer is final (the child died, with
 * its exit and stderr, or did not answer initialize in time).
 */
export async function waitUntilBridgeReady(
  url: string,
  signal: AbortSignal,
  options: { retry: boolean; timeoutMs: number },
): Promise<void> {
  const readyz = new URL(url);
  readyz.pathname = '/readyz';
  readyz.search = `timeout=${options.timeoutMs}`;
  for (;;) {
    let res: Response;
    try {
      res = await fetch(readyz, { signal });
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      if (!options.retry || !isConnectionError(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      continue;
    }
    const body = (await res.json().catch(() => undefined)) as
      { ok?: boolean; error?: string } | undefined;
    if (res.ok && body?.ok === true) return;
    throw new Error(body?.error ?? `the bridge's readiness check answered HTTP ${res.status}`);
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('wake aborted');
}

/** initialize + ping on a probe of its own until `url` answers, then end the probe's session. */
export async function probeUntilReady(
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const probe = new McpProbe(url, {});
  try {
    await waitUntilReady(probe, timeoutMs, signal);
  } finally {
    void probe.close();
  }
}
