// Readiness on wake: probe until a real MCP round trip succeeds. Connection refused means
// the process is still starting, so retry quickly; an answer that is an error (e.g. the
// bridge reporting that the process died) is final. Bounded by `signal` (the wake deadline).
import { McpProbe } from './mcp-probe.ts';

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
