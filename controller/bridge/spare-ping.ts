// A lone sessionless `ping` is answered by the warm spare itself: MCP allows ping before
// initialize, and it needs no process of the client's own. The spare is pinged under a
// bridge-owned id, so concurrent pings (and the clients' own ids) never collide, and a ping
// fails at once when its process dies or a new session takes it before it answered.
import type { ServerResponse } from 'node:http';
import type { BridgeChildren } from './bridge-children.ts';
import { SERVER_UNAVAILABLE, type JsonRpcId, type JsonRpcMessage } from './jsonrpc.ts';
import { sendError, sendUnavailable } from './request-io.ts';
import type { StdioChild } from './stdio-child.ts';

interface PendingPing {
  child: StdioChild;
  answer(message: JsonRpcMessage): void;
  fail(reason: string): void;
}

export class SparePings {
  private readonly children: BridgeChildren;
  /** Pings waiting for the spare's answer, by the bridge-owned id. */
  private readonly pending = new Map<string, PendingPing>();
  private counter = 0;

  constructor(children: BridgeChildren) {
    this.children = children;
  }

  /** Answers a sessionless ping with the warm spare's own reply (spawning one if needed). */
  async answer(id: JsonRpcId, res: ServerResponse): Promise<void> {
    const spare = this.children.currentSpare();
    if (!spare) {
      sendUnavailable(res, id, this.children.refusal());
      return;
    }
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    try {
      const reply = await this.ping(spare, closed.signal);
      const answer = {
        jsonrpc: '2.0',
        id,
        ...('error' in reply ? { error: reply.error } : { result: reply.result ?? {} }),
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    } catch (err) {
      if (res.destroyed) return;
      sendError(res, 502, id, SERVER_UNAVAILABLE, (err as Error).message);
    }
  }

  /** Fails the pings still waiting on `child` (it died, or a session took it). */
  failPingsOf(child: StdioChild, reason: string): void {
    for (const ping of [...this.pending.values()]) {
      if (ping.child === child) ping.fail(reason);
    }
  }

  /**
   * Pings an uninitialized child under a bridge-owned id. Rejects if the child dies, is taken
   * by a session before answering, or `signal` aborts.
   */
  private ping(child: StdioChild, signal: AbortSignal): Promise<JsonRpcMessage> {
    const id = `mcpfleet-ping-${++this.counter}`;
    return new Promise<JsonRpcMessage>((resolve, reject) => {
      const settle = (): void => {
        this.pending.delete(id);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        settle();
        reject(signal.reason instanceof Error ? signal.reason : new Error('ping aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        child,
        answer: (message) => {
          settle();
          resolve(message);
        },
        fail: (reason) => {
          settle();
          reject(new Error(reason));
        },
      });
      child.onMessage = (message) => {
        if (typeof message.id === 'string') this.pending.get(message.id)?.answer(message);
      };
      child.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }));
    });
  }
}
