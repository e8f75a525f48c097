// A minimal HTTP upstream that records what reached it and answers as told. Used where a
// test must see the exact headers the proxy forwarded, or an upstream that misbehaves
// (never answers, streams forever) — things a real MCP server will not do on demand.
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Responder = (req: Recorded, res: ServerResponse) => void;

export interface RecordingUpstream {
  url: string;
  requests: Recorded[];
  /** Requests whose connection closed before their response finished. */
  abortedResponses: number;
  respond: Responder;
  close(): Promise<void>;
}

export async function startRecordingUpstream(respond: Responder): Promise<RecordingUpstream> {
  const state: RecordingUpstream = {
    url: '',
    requests: [],
    abortedResponses: 0,
    respond,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      state.requests.push(recorded);
      res.once('close', () => {
        if (!res.writableFinished) state.abortedResponses += 1;
      });
      state.respond(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  return state;
}
