// An MCP client speaking raw Streamable HTTP from its own loopback address (127.0.0.2,
// 127.0.0.3, …: Linux routes all of 127/8 to lo), so a test can be several clients at once
// the way the gateway tells them apart before authentication: by address.
import http from 'node:http';
import { initializeBody } from '../support/mcp-messages.ts';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The JSON-RPC message (JSON or the first SSE data line), if any. */
  message: { result?: unknown; error?: { code: number; message: string; data?: unknown } };
}

export interface ClientAt {
  address: string;
  /** initialize; the session id when it was opened. */
  initialize(url: string): Promise<Answer & { sessionId: string | undefined }>;
  /** One JSON-RPC request in `sessionId` (undefined: sessionless). */
  request(
    url: string,
    sessionId: string | undefined,
    method: string,
    params?: unknown,
  ): Promise<Answer>;
  /** A POST of `message` with exactly `headers` (besides content type and accept). */
  post(url: string, message: unknown, headers: Record<string, string>): Promise<Answer>;
  end(url: string, sessionId: string): Promise<number>;
  /** Opens the session's GET stream; `ended` settles when the server ends it. */
  listen(url: string, sessionId: string): Promise<{ status: number; ended: Promise<void> }>;
  close(): Promise<void>;
}

let nextId = 1;

export function clientAt(address: string, headers: Record<string, string> = {}): ClientAt {
  const agent = new http.Agent({ keepAlive: true });
  const exchange = (
    url: string,
    method: string,
    extra: Record<string, string>,
    body?: string,
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        url,
        { method, agent, localAddress: address, headers: { ...headers, ...extra } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, message: parse(text) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const send = (url: string, sessionId: string | undefined, body: string): Promise<Answer> =>
    exchange(
      url,
      'POST',
      {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
      },
      body,
    );
  return {
    address,
    async initialize(url) {
      const answer = await send(url, undefined, initializeBody(nextId++));
      const minted = answer.headers['mcp-session-id'];
      const sessionId = typeof minted === 'string' ? minted : undefined;
      if (sessionId)
        await send(
          url,
          sessionId,
          JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
        );
      return { ...answer, sessionId };
    },
    request: (url, sessionId, method, params) =>
      send(url, sessionId, JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params })),
    post: (url, message, extra) =>
      exchange(
        url,
        'POST',
        {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...extra,
        },
        JSON.stringify(message),
      ),
    async end(url, sessionId) {
      return (await exchange(url, 'DELETE', { 'mcp-session-id': sessionId })).status;
    },
    listen: (url, sessionId) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          url,
          {
            method: 'GET',
            agent,
            localAddress: address,
            headers: {
              ...headers,
              accept: 'text/event-stream',
              'mcp-session-id': sessionId,
              'mcp-protocol-version': '2025-06-18',
            },
          },
          (res) => {
            res.resume();
            const ended = new Promise<void>((done) => res.once('close', done));
            resolve({ status: res.statusCode!, ended });
          },
        );
        req.on('error', reject);
        req.end();
      }),
    close: async () => agent.destroy(),
  };
}

function parse(text: string): Answer['message'] {
  const data = text.startsWith('{')
    ? text
    : text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .find((line) => line.startsWith('{'));
  if (!data) return {};
  return JSON.parse(data) as Answer['message'];
}
