// Bounded polling for the control plane to come up, failing fast when a process it depends on
// has exited (with that process's last stderr lines) rather than waiting out the timeout.
import { request } from 'node:https';
import type { ManagedProcess } from './processes.ts';

export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** Skip verifying the server's certificate (components' self-signed serving certs). */
  insecure?: boolean;
}

/** GETs `url` and resolves with the status code and body; rejects on a connection error. */
export function httpsGet(url: string, tls: TlsOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        rejectUnauthorized: !tls.insecure,
        timeout: 5000,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export interface WaitOptions {
  deadline: number;
  /** Processes that must stay up meanwhile. */
  watch: ManagedProcess[];
  intervalMs?: number;
}

/**
 * Polls `check` until it returns true. Throws at once when a watched process has exited, and
 * at the deadline with the last reason the check gave (its thrown error or returned string).
 */
export async function waitUntil(
  what: string,
  check: () => Promise<true | string>,
  options: WaitOptions,
): Promise<void> {
  let reason: string;
  for (;;) {
    const failed = options.watch.find((p) => p.failed);
    if (failed) throw new Error(`control plane: ${failed.describeExit()}`);
    try {
      const result = await check();
      if (result === true) return;
      reason = result;
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > options.deadline) {
      throw new Error(`control plane: timed out waiting for ${what} (last: ${reason})`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
