// A loopback forwarder that adds `Authorization: Bearer <token>` to every request and relays
// it, byte for byte and streaming both ways (SSE included), to one origin. It lets a client
// that cannot send credentials — the conformance suite's server runner has no header or
// token option — reach an MCP endpoint that requires them. Everything else the client sent
// (Host and Origin included, which the suite's DNS-rebinding scenario forges) goes through
// unchanged, and a header of the client's own named Authorization is replaced.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BearerForwarder {
  /** The forwarder's origin (http://127.0.0.1:port): a path on it reaches the same path upstream. */
  url: string;
  /** The token added from now on. */
  setToken(token: string): void;
  close(): Promise<void>;
}

export async function startBearerForwarder(
  upstream: string,
  initialToken: string,
): Promise<BearerForwarder> {
  const target = new URL(upstream);
  let token = initialToken;
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    const forwarded = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.rawHeaders);
        reply.pipe(res);
      },
    );
    forwarded.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    res.on('close', () => forwarded.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setToken: (next) => {
      token = next;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
