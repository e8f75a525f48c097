// The connection cap, with a reserve for probes, on the controller's one port.
//
// Why this design: the kubelet probes /healthz and /readyz on the traffic port
// (infra/manifests/platform.ts, port "http"), and so does the load balancer, so a separate
// probe listener would need a second port everywhere. Instead, on the one port:
// - below `maxConnections - probeReserve`, connections are ordinary;
// - from there up to the cap, a new connection is in the reserve: it may ask only for a
//   probe or the management API (anything else gets 503), and only once (Connection: close);
// - at the cap, the connection idle the longest (no request in progress: it never sent a
//   byte, its headers are still arriving, or it waits between keep-alive requests) is closed
//   to make room; only when every connection is busy is the new one closed at once.
// So idle sockets, however many, cannot lock a probe out (it takes the place of the oldest of
// them), and busy ordinary requests cannot take the reserve. Closing the oldest idle socket
// rather than refusing the newest also keeps a flood from pinning descriptors: the sockets it
// holds are the ones headersTimeout closes next.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import { replyToClientError } from './client-error-reply.ts';
import type { ConnectionLimits } from './connection-limits.ts';
import { LimitReport, type LimitEvent } from './limit-report.ts';

export interface ConnectionGuardOptions {
  limits: ConnectionLimits;
  logger: Logger;
  metrics: Metrics;
  /** Paths a reserve connection may ask for: probes and the management API. */
  reservedFor(pathname: string): boolean;
}

interface Connection {
  /** Accepted into the probe reserve. */
  reserve: boolean;
  /** Requests in progress (more than one only when pipelined). */
  active: number;
  response: ServerResponse | undefined;
}

export class ConnectionGuard {
  readonly #options: ConnectionGuardOptions;
  readonly #report: LimitReport;
  readonly #connections = new Map<Duplex, Connection>();
  /** Connections with no request in progress, the longest idle first (a Set keeps order). */
  readonly #idle = new Set<Duplex>();

  constructor(server: Server, options: ConnectionGuardOptions) {
    this.#options = options;
    const { limits } = options;
    this.#report = new LimitReport({
      logger: options.logger,
      metrics: options.metrics,
      intervalMs: limits.logIntervalMs,
      snapshot: () => ({ open: this.open, maxConnections: limits.maxConnections }),
    });
    server.on('connection', (socket: Duplex) => this.#accept(socket));
    // Before the request handler, so a reserve connection is known to be one when it routes.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) =>
      this.#started(req.socket, res),
    );
    server.on('clientError', (err: Error, socket: Duplex) => {
      const connection = this.#connections.get(socket);
      const event = replyToClientError(err, socket, {
        inRequest: (connection?.active ?? 0) > 0,
        responseStarted: connection?.response?.headersSent ?? false,
      });
      if (event) this.note(event);
    });
  }

  /** Open client connections. */
  get open(): number {
    return this.#connections.size;
  }

  /**
   * Whether `req` may be served on its connection: not when the connection is in the probe
   * reserve and asks for something else (the caller answers 503).
   */
  admits(req: IncomingMessage, pathname: string): boolean {
    const connection = this.#connections.get(req.socket);
    if (!connection?.reserve || this.#options.reservedFor(pathname)) return true;
    this.note('reserve-refused');
    return false;
  }

  /** Counts an event in metrics and in the next rate-limited log line. */
  note(event: LimitEvent): void {
    this.#report.note(event);
  }

  /** Logs what is still counted. */
  close(): void {
    this.#report.close();
  }

  #accept(socket: Duplex): void {
    const { maxConnections, probeReserve } = this.#options.limits;
    if (this.#connections.size >= maxConnections) {
      const oldest = this.#idle.values().next().value;
      if (oldest === undefined) {
        socket.destroy();
        this.note('refused');
        return;
      }
      this.#forget(oldest);
      oldest.destroy();
      this.note('evicted');
    }
    const reserve = this.#connections.size >= maxConnections - probeReserve;
    this.#connections.set(socket, { reserve, active: 0, response: undefined });
    this.#idle.add(socket);
    socket.once('close', () => this.#forget(socket));
    this.#options.metrics.openConnections.set(this.#connections.size);
  }

  #started(socket: Duplex, res: ServerResponse): void {
    const connection = this.#connections.get(socket);
    if (!connection) return;
    connection.active += 1;
    connection.response = res;
    this.#idle.delete(socket);
    if (connection.reserve) res.setHeader('connection', 'close');
    res.once('close', () => {
      connection.active -= 1;
      if (connection.response === res) connection.response = undefined;
      // Re-added at the end: idle since now, the last to be closed to make room.
      if (connection.active === 0 && this.#connections.has(socket)) this.#idle.add(socket);
    });
  }

  #forget(socket: Duplex): void {
    if (!this.#connections.delete(socket)) return;
    this.#idle.delete(socket);
    this.#options.metrics.openConnections.set(this.#connections.size);
  }
}
