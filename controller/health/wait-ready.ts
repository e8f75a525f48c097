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

/** How long a sessionless ping may go unanswered before the wake check falls back. */
export const PING_FALLBACK_MS = 3_000;

/**
 * The wake check of a stdio server behind the bridge: a sessionless ping (answered by the
 * bridge's warm child, no process spent). Some servers do not take requests before
 * `initialize` — mcp-server-fetch on the Python SDK exits on one — so a ping that fails or goes
 * unanswered for PING_FALLBACK_MS falls back to initialize + ping through the bridge: slower
 * (it spends a child), but every server answers that. The bridge replaces a child that died,
 * so the fallback tries a few sessions. `retry` also waits for a bridge still starting (a pod).
 */
export async function waitUntilBridgeReady(
  url: string,
  signal: AbortSignal,
  options: { retry: boolean; timeoutMs: number },
): Promise<void> {
  const ping = AbortSignal.any([signal, AbortSignal.timeout(PING_FALLBACK_MS)]);
  try {
    return await (options.retry ? waitUntilPingAnswered(url, ping) : pingWithoutSession(url, ping));
  } catch (err) {
    if (signal.aborted) throw err;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await probeUntilReady(url, options.timeoutMs, signal);
    } catch (err) {
      if (signal.aborted || attempt >= FALLBACK_ATTEMPTS) throw err;
    }
  }
}

const FALLBACK_ATTEMPTS = 3;

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
