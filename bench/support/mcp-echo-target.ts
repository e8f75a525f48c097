// One MCP session on one URL for the proxy benches: opened with undici, then driven by the raw
// load generator (bench/raw-http-load.ts: no SDK overhead on either side, and as little
// load-generator CPU as possible) with tools/call echo, each reply checked.
import { Pool } from 'undici';
import { rawPostLoad } from '../raw-http-load.ts';

/** tools/call echo with a per-request message, checked in the reply. */
const ECHO_CALL = {
  body: (id: number) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: `m${id}` } },
    }),
  check: (text: string, id: number) => text.includes(`Echo: m${id}"`),
};

const PROTOCOL = '2025-11-25';

export class EchoTarget {
  readonly #pool: Pool;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  #nextId = 10;

  private constructor(pool: Pool, url: string, headers: Record<string, string>) {
    this.#pool = pool;
    this.#url = url;
    this.#headers = headers;
  }

  /** `credential`: sent as a bearer token on every request (the controller asks for one). */
  static async open(url: string, credential?: string): Promise<EchoTarget> {
    const auth: Record<string, string> = credential
      ? { authorization: `Bearer ${credential}` }
      : {};
    const parsed = new URL(url);
    const pool = new Pool(parsed.origin, { connections: 64 });
    const base = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...auth,
    };
    const init = await pool.request({
      path: parsed.pathname,
      method: 'POST',
      headers: base,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: PROTOCOL,
          capabilities: {},
          clientInfo: { name: 'bench', version: '1' },
        },
      }),
    });
    const text = await init.body.text();
    if (init.statusCode >= 300) throw new Error(`initialize: HTTP ${init.statusCode}: ${text}`);
    const target = new EchoTarget(pool, url, {
      ...base,
      'mcp-session-id': String(init.headers['mcp-session-id']),
      'mcp-protocol-version': PROTOCOL,
    });
    await target.#post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return target;
  }

  async #post(message: object): Promise<string> {
    const res = await this.#pool.request({
      path: new URL(this.#url).pathname,
      method: 'POST',
      headers: this.#headers,
      body: JSON.stringify(message),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}: ${text}`);
    return text;
  }

  /** `count` echo calls, `concurrency` at a time; returns each one's latency in ms. */
  run(count: number, concurrency: number): Promise<number[]> {
    return rawPostLoad(
      this.#url,
      this.#headers,
      ECHO_CALL,
      count,
      concurrency,
      () => this.#nextId++,
    );
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
