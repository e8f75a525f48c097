// A real HTTP server speaking the management API contract (controller/api/types.ts), for
// testing the CLI without starting the whole controller. State is plain data the test sets.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ApiError,
  FleetEvent,
  RegistryStatusView,
  ServerLogLine,
  ServerStatus,
} from '../../../controller/api/types.ts';

export interface FakeController {
  url: string;
  servers: Map<string, ServerStatus>;
  events: FleetEvent[];
  registry: RegistryStatusView;
  /** Each server's log lines, oldest first (a following client gets them, then the end). */
  logs: Map<string, ServerLogLine[]>;
  /** "METHOD /path?query" of every request received. */
  requests: string[];
  /** Makes the next wake end in this state with this error (a failed wake). */
  failNextWake?: { state: ServerStatus['state']; error: string };
  close(): Promise<void>;
}

export function serverStatus(slug: string, overrides: Partial<ServerStatus> = {}): ServerStatus {
  return {
    slug,
    name: `io.github.example/${slug}`,
    title: slug,
    kind: 'workload',
    state: 'asleep',
    replicas: 0,
    sessions: 0,
    inFlight: 0,
    lastActivity: null,
    lastWakeDurationMs: null,
    lastError: null,
    healthMark: null,
    idleTimeoutMs: 300_000,
    minReplicas: 0,
    maxReplicas: 1,
    endpoint: `/servers/${slug}/mcp`,
    ...overrides,
  };
}

export async function startFakeController(): Promise<FakeController> {
  const fake: FakeController = {
    url: '',
    servers: new Map(),
    events: [],
    registry: { location: 'registry/servers', format: 'server-json', servers: 0, lastChange: null },
    logs: new Map(),
    requests: [],
    close: async () => undefined,
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    fake.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (status: number, code: string, message: string): void =>
      send(status, { error: { code, message } } satisfies ApiError);
    const parts = url.pathname.split('/').filter(Boolean); // api, v1, ...

    if (url.pathname === '/api/v1/registry' && req.method === 'GET') {
      send(200, fake.registry);
      return;
    }
    if (url.pathname === '/api/v1/servers' && req.method === 'GET') {
      send(200, { servers: [...fake.servers.values()] });
      return;
    }
    if (url.pathname === '/api/v1/events' && req.method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const serverFilter = url.searchParams.get('server');
      if (serverFilter !== null && !fake.servers.has(serverFilter)) {
        fail(404, 'unknown-server', `Unknown server "${serverFilter}"`);
        return;
      }
      const events = fake.events
        .filter((e) => serverFilter === null || e.server === serverFilter)
        .filter((e) => !url.searchParams.has('type') || e.type === url.searchParams.get('type'))
        .slice(0, limit);
      send(200, { events });
      return;
    }
    if (parts[0] === 'api' && parts[1] === 'v1' && parts[2] === 'servers' && parts[3]) {
      const slug = decodeURIComponent(parts[3]);
      const status = fake.servers.get(slug);
      if (!status) {
        fail(404, 'unknown-server', `Unknown server "${slug}"`);
        return;
      }
      if (parts.length === 4 && req.method === 'GET') {
        send(200, status);
        return;
      }
      if (parts.length === 5 && parts[4] === 'logs' && req.method === 'GET') {
        const lines = (fake.logs.get(slug) ?? []).slice(
          -Number(url.searchParams.get('lines') ?? 100),
        );
        if (url.searchParams.get('follow') !== 'true') {
          send(200, { lines });
          return;
        }
        // A controller that sends the tail and then stops (it shut down).
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': keepalive\n\n');
        res.end(lines.map((line) => `event: log\ndata: ${JSON.stringify(line)}\n\n`).join(''));
        return;
      }
      if (parts.length === 5 && parts[4] === 'wake' && req.method === 'POST') {
        const failure = fake.failNextWake;
        fake.failNextWake = undefined;
        Object.assign(
          status,
          failure
            ? { state: failure.state, lastError: failure.error, replicas: 0 }
            : { state: 'ready', replicas: 1, lastWakeDurationMs: 812.4 },
        );
        send(200, status);
        return;
      }
      if (parts.length === 5 && parts[4] === 'sleep' && req.method === 'POST') {
        Object.assign(status, { state: 'asleep', replicas: 0 });
        send(200, status);
        return;
      }
    }
    // Stands in for a proxy in front of the controller failing on its own (HTML, not API).
    if (url.pathname.startsWith('/behind-a-broken-proxy/')) {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
      return;
    }
    fail(404, 'not-found', `No API route for ${req.method} ${url.pathname}`);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
