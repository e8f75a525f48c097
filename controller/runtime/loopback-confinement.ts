// HTTP servers on this machine listen on loopback only, on the port the runtime chose: a
// server reachable on another interface is reachable past the gateway's Origin, Host, body
// and (later) auth checks. The runtime sets the server's own bind-address variable where it
// declares one (its transport URL's host, http://{HOST}:{PORT}/mcp), and HOST either way;
// what the server then does is read from the kernel (listening-sockets.ts), not assumed, and
// a server listening beyond loopback is said in its status and logged once.
import type { ChildProcess } from 'node:child_process';
import { treePids } from '../bridge/process-group.ts';
import type { Logger } from '../observability/log.ts';
import { formatSocket, isLoopbackAddress, listeningSockets } from './listening-sockets.ts';
import type { ListeningSocket } from './listening-sockets.ts';

export const LOOPBACK = '127.0.0.1';

/** How often a starting server is looked at until it listens on its port. */
const POLL_MS = 200;
/** A server that never listens on its port fails its wake; the look gives up then too. */
const GIVE_UP_MS = 120_000;

export interface ExposureWatch {
  /** Where the server listens beyond loopback (a sentence for status), or undefined. */
  current(): string | undefined;
}

/** What `sockets` say of a server whose bind-address variable is `hostVariable`. */
export function describeExposure(
  sockets: readonly ListeningSocket[],
  hostVariable: string | undefined,
): string | undefined {
  const open = sockets.filter((socket) => !isLoopbackAddress(socket.address));
  if (open.length === 0) return undefined;
  const where = open.map(formatSocket).join(', ');
  const why = hostVariable
    ? `although its ${hostVariable} was set to ${LOOPBACK}`
    : `it declares no bind-address variable the runtime could set to ${LOOPBACK} (write its transport URL as http://{HOST}:{PORT}/... naming the variable it reads)`;
  return `not confined: listens on ${where}, beyond loopback, ${why}; anyone who reaches this machine reaches it past the gateway`;
}

/** Watches `child` until it listens on `port`, then logs whether it is confined. */
export function watchExposure(
  child: ChildProcess,
  port: number,
  hostVariable: string | undefined,
  logger: Logger,
): ExposureWatch {
  const look = () => describeExposure(listeningSockets(treePids(child)), hostVariable);
  const deadline = Date.now() + GIVE_UP_MS;
  const timer = setInterval(() => {
    // Until it listens, its own tree is enough (orphans are looked for once it does).
    const own = listeningSockets(treePids(child, false));
    if (!own.some((socket) => socket.port === port) && Date.now() < deadline) return;
    clearInterval(timer);
    const exposure = look();
    if (exposure) logger.warn({ exposure }, `MCP server ${exposure}`);
  }, POLL_MS);
  timer.unref();
  child.once('exit', () => clearInterval(timer));
  return { current: look };
}
