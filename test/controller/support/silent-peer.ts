// A TCP peer that accepts connections and never answers: how a hung database or Redis
// looks from a client. Lets tests prove a connect gives up within its timeout.
import net from 'node:net';

export async function withSilentPeer<T>(use: (port: number) => Promise<T>): Promise<T> {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  try {
    return await use(port);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
}
