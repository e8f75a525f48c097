// Readiness on wake: probe until a real MCP round trip succeeds. Connection refused means
// the process is still starting, so retry quickly; an answer that is an error (e.g. the
// bridge reporting that the process died) is final. Bounded by `signal` (the wake deadline).
import { isConnectionError, McpProbe, PingError, pingWithoutSession } from './mcp-probe.ts';

const RETRY_MS = 10;

export async function waitUntilReady(
  probe: McpProbe,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    if (signal.aborted)
      throw signal.reason instanceof Error ? signal.reason : new Error('wake aborted');
    const result = await probe.check(timeoutMs, signal);
    if (result.ok) return;
    if (signal.aborted)
      throw signal.reason instanceof Error ? signal.reason : new Error('wake aborted');
    if (!result.unreachable) throw new Error(result.error ?? 'probe failed');
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/**
 * The same wait for a stdio server behind a bridge that is itself still starting (a pod's
 * bridge process): sessionless pings until one is answered. Refused connections are retried,
 * and so is a bridge that is busy (its warm child was just handed to a session another
 * controller replica opened: 502, "retry").
 */
export async function waitUntilPingAnswered(url: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    try {
      return await pingWithoutSession(url, signal);
    } catch (err) {
      if (signal.aborted)
        throw signal.reason instanceof Error ? signal.reason : new Error('wake aborted');
      if (!isConnectionError(err) && !(err instanceof PingError && err.retryable)) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
