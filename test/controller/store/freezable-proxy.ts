// A TCP proxy in front of a real server (PostgreSQL) that can go wrong on demand, the way a
// dependency does in production: freeze() — every connection stays open and nothing is
// answered any more (a hung server, a stalled network path; new connections are accepted and
// never answered either), or refuse() — the port closes and open connections are cut (the
// server is gone). Before that it relays both ways unchanged, so the client speaks the real
// protocol to the real server.
import net from 'node:net';

export interface FreezableProxy {
  port: number;
  freeze(): void;
  refuse(): Promise<void>;
  /** After refuse(): the port takes connections again, each relayed to a new upstream one. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export async function startFreezableProxy(target: {
  host: string;
  port: number;
}): Promise<FreezableProxy> {
  let frozen = false;
  const sockets = new Set<net.Socket>();
  const remember = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    remember(client);
    if (frozen) return; // accepted, never answered
    const upstream = net.connect(target.port, target.host);
    remember(upstream);
    client.on('data', (chunk) => {
      if (!frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!frozen) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const closeAll = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  };
  return {
    port,
    freeze: () => {
      frozen = true;
    },
    refuse: closeAll,
    reopen: async () => {
      frozen = false;
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: closeAll,
  };
}
