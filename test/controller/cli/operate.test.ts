// The operator CLI (status, wake, sleep, events) against a real HTTP server speaking the
// management API contract, run in-process through main() exactly as the executable does.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FleetEvent } from '../../../controller/api/types.ts';
import { type FakeController, serverStatus, startFakeController } from './fake-controller.ts';
import { runCli } from './run-cli.ts';
import { freePort } from '../support/free-port.ts';

const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();

function event(
  id: number,
  server: string,
  type: string,
  overrides: Partial<FleetEvent> = {},
): FleetEvent {
  return {
    id,
    server,
    type,
    at: '2026-05-04T10:00:00.000Z',
    durationMs: null,
    message: null,
    data: null,
    ...overrides,
  };
}

/** Every line's cells start at the same offsets as the header's: the columns line up. */
function assertAligned(table: string, headers: string[]): void {
  const lines = table.trimEnd().split('\n');
  const starts = headers.map((h) => lines[0]!.indexOf(h));
  assert.ok(
    starts.every((s, i) => s >= 0 && (i === 0 || s > starts[i - 1]!)),
    lines[0],
  );
  for (const line of lines.slice(1)) {
    for (const start of starts.slice(1)) {
      if (line.length <= start) continue; // an empty last cell
      assert.equal(line[start - 1], ' ', `column boundary at ${start} in "${line}"`);
      assert.notEqual(line[start], ' ', `cell starts at ${start} in "${line}"`);
    }
  }
}

function assertNoStackTrace(text: string): void {
  assert.doesNotMatch(text, /\n\s+at /);
}

describe('operator CLI', () => {
  let fake: FakeController;

  beforeEach(async () => {
    fake = await startFakeController();
    fake.servers.set(
      'everything',
      serverStatus('everything', {
        state: 'ready',
        replicas: 1,
        sessions: 3,
        inFlight: 2,
        lastActivity: ago(12_000),
        lastWakeDurationMs: 812.4,
      }),
    );
    fake.servers.set('memory', serverStatus('memory'));
    fake.servers.set(
      'filesystem-with-a-long-slug',
      serverStatus('filesystem-with-a-long-slug', {
        state: 'failed',
        lastError: 'crash loop: exited with code 1\n(5 restarts in 30s)',
        lastActivity: ago(3 * 60_000),
        lastWakeDurationMs: 15_250,
      }),
    );
  });
  afterEach(async () => {
    await fake.close();
  });

  describe('status', () => {
    it('prints an aligned table of every server', async () => {
      const { code, stdout, stderr } = await runCli('status', '--url', fake.url);
      assert.equal(code, 0, stderr);
      const headers = [
        'SLUG',
        'STATE',
        'REPLICAS',
        'SESSIONS',
        'IN-FLIGHT',
        'LAST-ACTIVITY',
        'LAST-WAKE',
      ];
      const [table, problems] = stdout.split('\n\n');
      assertAligned(table!, headers);
      const rows = table!
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s{2,}/));
      assert.deepEqual(rows[0]!.slice(0, 5), ['everything', 'ready', '1', '3', '2']);
      assert.match(rows[0]![5]!, /^1[2-9]s ago$/);
      assert.equal(rows[0]![6], '812ms');
      assert.deepEqual(rows[1], ['memory', 'asleep', '0', '0', '0', '-', '-']);
      assert.deepEqual(rows[2]!.slice(1, 2), ['failed']);
      assert.match(rows[2]![5]!, /^3m(\ds)? ago$/);
      assert.equal(rows[2]![6], '15s');
      // The reason a server failed, on one line, under the table.
      assert.equal(
        problems,
        'filesystem-with-a-long-slug: crash loop: exited with code 1 (5 restarts in 30s)\n',
      );
      assert.deepEqual(fake.requests.sort(), ['GET /api/v1/registry', 'GET /api/v1/servers']);
    });

    it('prints the API JSON with --json', async () => {
      const { code, stdout } = await runCli('status', '--url', fake.url, '--json');
      assert.equal(code, 0);
      assert.deepEqual(JSON.parse(stdout), {
        servers: [...fake.servers.values()],
        registry: fake.registry,
      });
    });

    it('says why a server is unavailable, under the table', async () => {
      fake.servers.set(
        'fetch',
        serverStatus('fetch', {
          state: 'unavailable',
          lastError: 'needs uvx on PATH: run npx mcpfleet registry install',
        }),
      );
      const { code, stdout } = await runCli('status', '--url', fake.url);
      assert.equal(code, 0);
      assert.match(stdout, /\nfetch: needs uvx on PATH: run npx mcpfleet registry install\n/);
    });

    it('says under the table when the last registry change was rejected, and why', async () => {
      fake.registry = {
        location: 'registry/servers',
        format: 'server-json',
        servers: 3,
        lastChange: {
          at: new Date(Date.now() - 20_000).toISOString(),
          outcome: 'rejected',
          problems: ['registry/servers/memory/server.json: $: invalid JSON: Unexpected end'],
        },
      };
      const { code, stdout } = await runCli('status', '--url', fake.url);
      assert.equal(code, 0);
      assert.match(
        stdout,
        /\nregistry registry\/servers: the last change \(2\ds ago\) was rejected; still serving the previous 3 servers\. Fix:\n {2}registry\/servers\/memory\/server\.json: \$: invalid JSON: Unexpected end\n$/,
      );
    });

    it('shows one server in detail', async () => {
      const { code, stdout } = await runCli('status', 'everything', '--url', fake.url);
      assert.equal(code, 0);
      assert.match(
        stdout,
        /^SLUG\s+STATE\s+REPLICAS\s+SESSIONS\s+IN-FLIGHT\s+LAST-ACTIVITY\s+LAST-WAKE\n/,
      );
      assert.match(stdout, /\neverything\s+ready\s+1\s+3\s+2\s+1\ds ago\s+812ms\n/);
      assert.match(stdout, /\nendpoint:\s+\/servers\/everything\/mcp\n/);
      assert.match(stdout, /\nidle timeout:\s+5m\n/);
      assert.match(stdout, /\nreplicas:\s+min 0, max 1\n/);
      assert.deepEqual(fake.requests, ['GET /api/v1/servers/everything']);
    });

    it('prints one server as the API JSON with --json', async () => {
      const { stdout } = await runCli('status', 'memory', '--url', fake.url, '--json');
      assert.deepEqual(JSON.parse(stdout), fake.servers.get('memory'));
    });

    it('says so when no server is registered', async () => {
      fake.servers.clear();
      const { code, stdout } = await runCli('status', '--url', fake.url);
      assert.equal(code, 0);
      assert.equal(stdout, 'No servers are registered.\n');
    });

    it("gives the API's message for an unknown server, exit 1", async () => {
      const { code, stdout, stderr } = await runCli('status', 'nope', '--url', fake.url);
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.equal(stderr, 'mcpfleet: Unknown server "nope"\n');
    });
  });

  describe('wake', () => {
    it('wakes a server and says how long the wake took', async () => {
      const { code, stdout, stderr } = await runCli('wake', 'memory', '--url', fake.url);
      assert.equal(code, 0, stderr);
      assert.equal(stdout, 'memory: ready (last wake took 812ms)\n');
      assert.deepEqual(fake.requests, ['POST /api/v1/servers/memory/wake']);
    });

    it('prints the API JSON with --json', async () => {
      const { stdout } = await runCli('wake', 'memory', '--url', fake.url, '--json');
      assert.equal(JSON.parse(stdout).state, 'ready');
    });

    it('exits 1 with the reason when the server does not become ready', async () => {
      fake.failNextWake = { state: 'failed', error: 'spawn npx ENOENT' };
      const { code, stdout, stderr } = await runCli('wake', 'memory', '--url', fake.url);
      assert.equal(code, 1);
      assert.equal(stdout, 'memory: failed\n');
      assert.equal(stderr, 'mcpfleet: memory is failed, not ready: spawn npx ENOENT\n');
    });

    it('needs a slug', async () => {
      const { code, stderr } = await runCli('wake', '--url', fake.url);
      assert.equal(code, 1);
      assert.match(stderr, /missing required argument 'slug'/);
      assert.deepEqual(fake.requests, []);
    });

    it("gives the API's message for an unknown server, exit 1", async () => {
      const { code, stderr } = await runCli('wake', 'nope', '--url', fake.url);
      assert.equal(code, 1);
      assert.equal(stderr, 'mcpfleet: Unknown server "nope"\n');
    });
  });

  describe('sleep', () => {
    it('puts a server to sleep', async () => {
      const { code, stdout } = await runCli('sleep', 'everything', '--url', fake.url);
      assert.equal(code, 0);
      assert.equal(stdout, 'everything: asleep\n');
      assert.deepEqual(fake.requests, ['POST /api/v1/servers/everything/sleep']);
      assert.equal(fake.servers.get('everything')?.state, 'asleep');
    });
  });

  describe('events', () => {
    beforeEach(() => {
      fake.events.push(
        event(4, 'everything', 'sleep', { at: '2026-05-04T10:05:00.000Z', message: 'idle for 5m' }),
        event(3, 'everything', 'wake', {
          at: '2026-05-04T10:00:00.900Z',
          durationMs: 812.4,
          message: 'woke on request',
        }),
        event(2, 'filesystem-with-a-long-slug', 'failed', {
          at: '2026-05-04T09:59:00.000Z',
          message: 'crash loop:\nexited with code 1',
        }),
        event(1, 'memory', 'wake', { at: '2026-05-04T09:00:00.000Z', durationMs: 2_345 }),
      );
    });

    it('prints an aligned table, newest first as the API gives it', async () => {
      const { code, stdout, stderr } = await runCli('events', '--url', fake.url);
      assert.equal(code, 0, stderr);
      assertAligned(stdout, ['TIME', 'SERVER', 'TYPE', 'DURATION', 'MESSAGE']);
      const rows = stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s{2,}/));
      assert.deepEqual(rows, [
        ['2026-05-04T10:05:00Z', 'everything', 'sleep', '-', 'idle for 5m'],
        ['2026-05-04T10:00:00Z', 'everything', 'wake', '812ms', 'woke on request'],
        [
          '2026-05-04T09:59:00Z',
          'filesystem-with-a-long-slug',
          'failed',
          '-',
          'crash loop: exited with code 1',
        ],
        ['2026-05-04T09:00:00Z', 'memory', 'wake', '2.3s'],
      ]);
      assert.deepEqual(fake.requests, ['GET /api/v1/events']);
    });

    it('passes the server, type and limit to the API', async () => {
      const { code, stdout } = await runCli(
        'events',
        'everything',
        '--type',
        'wake',
        '--limit',
        '5',
        '--url',
        fake.url,
      );
      assert.equal(code, 0);
      assert.deepEqual(fake.requests, ['GET /api/v1/events?server=everything&type=wake&limit=5']);
      assert.equal(stdout.trimEnd().split('\n').length, 2);
      assert.match(stdout, /everything\s+wake\s+812ms\s+woke on request/);
    });

    it('prints the API JSON with --json', async () => {
      const { stdout } = await runCli('events', '--limit', '2', '--url', fake.url, '--json');
      assert.deepEqual(JSON.parse(stdout), { events: fake.events.slice(0, 2) });
    });

    it('says so when there are no events', async () => {
      const { code, stdout } = await runCli(
        'events',
        'memory',
        '--type',
        'sleep',
        '--url',
        fake.url,
      );
      assert.equal(code, 0);
      assert.equal(stdout, 'No events.\n');
    });

    it('refuses an event type that does not exist, naming the valid ones, before asking', async () => {
      const { code, stderr } = await runCli('events', '--type', 'bogus', '--url', fake.url);
      assert.equal(code, 1);
      assert.match(stderr, /'bogus' is invalid\. Allowed choices are wake, wake-failed, /);
      assert.deepEqual(fake.requests, []);
    });

    it('refuses a limit outside 1..1000 before asking the controller', async () => {
      for (const limit of ['0', '1001', 'ten', '2.5']) {
        const { code, stderr } = await runCli('events', '--limit', limit, '--url', fake.url);
        assert.equal(code, 1, limit);
        assert.match(stderr, /use a whole number from 1 to 1000/);
      }
      assert.deepEqual(fake.requests, []);
    });

    it("gives the API's message for an unknown server, exit 1", async () => {
      const { code, stderr } = await runCli('events', 'nope', '--url', fake.url);
      assert.equal(code, 1);
      assert.equal(stderr, 'mcpfleet: Unknown server "nope"\n');
    });
  });

  describe('logs', () => {
    beforeEach(() => {
      fake.logs.set('everything', [
        {
          time: '2026-05-04T10:00:00.123Z',
          level: 'info',
          source: 'controller',
          replica: null,
          message: 'ready in 812ms',
          fields: { event: 'wake', durationMs: 812, reason: 'a cold start' },
        },
        {
          time: '2026-05-04T10:00:00.456Z',
          level: 'info',
          source: 'stderr',
          replica: 'everything-1a2b3c4d',
          message: 'Starting default (STDIO) server...',
          fields: {},
        },
        {
          time: '2026-05-04T10:00:01.000Z',
          level: 'warn',
          source: 'controller',
          replica: 'everything-1a2b3c4d',
          message: 'health check failed',
          fields: { err: 'timeout' },
        },
      ]);
    });

    it("prints a server's lines oldest first: time, stream or level, text and fields", async () => {
      const { code, stdout, stderr } = await runCli('logs', 'everything', '--url', fake.url);
      assert.equal(code, 0, stderr);
      assert.equal(
        stdout,
        '2026-05-04T10:00:00.123Z  info    ready in 812ms event=wake durationMs=812 reason="a cold start"\n' +
          '2026-05-04T10:00:00.456Z  stderr  Starting default (STDIO) server...\n' +
          '2026-05-04T10:00:01.000Z  warn    health check failed err=timeout\n',
      );
      assert.deepEqual(fake.requests, ['GET /api/v1/servers/everything/logs']);
    });

    it('asks for --lines of them, and prints the API JSON with --json', async () => {
      const { code, stdout } = await runCli(
        'logs',
        'everything',
        '--lines',
        '2',
        '--json',
        '--url',
        fake.url,
      );
      assert.equal(code, 0);
      assert.deepEqual(JSON.parse(stdout), { lines: fake.logs.get('everything')!.slice(-2) });
      assert.deepEqual(fake.requests, ['GET /api/v1/servers/everything/logs?lines=2']);
    });

    it('refuses --lines outside 1..1000 before asking the controller', async () => {
      for (const lines of ['0', '1001', 'all', '-5', '1.5']) {
        const { code, stdout, stderr } = await runCli(
          'logs',
          'everything',
          '--lines',
          lines,
          '--url',
          fake.url,
        );
        assert.equal(code, 1, lines);
        assert.equal(stdout, '');
        assert.match(
          stderr,
          /option '-n, --lines <n>' argument '.*' is invalid\. use a whole number from 1 to 1000\./,
        );
      }
      assert.deepEqual(fake.requests, []);
    });

    it("gives the API's message for an unknown server, exit 1, following or not", async () => {
      for (const follow of [[], ['--follow']]) {
        const { code, stdout, stderr } = await runCli('logs', 'nope', ...follow, '--url', fake.url);
        assert.equal(code, 1);
        assert.equal(stdout, '');
        assert.equal(stderr, 'mcpfleet: Unknown server "nope"\n');
      }
    });

    it('following, says so and exits 1 when the controller ends the stream', async () => {
      const { code, stdout, stderr } = await runCli('logs', 'everything', '-f', '--url', fake.url);
      assert.equal(code, 1);
      assert.equal(stdout.split('\n').length, 4, stdout); // the three lines it sent
      assert.equal(
        stderr,
        `mcpfleet: the controller at ${fake.url} ended the stream (did it stop or restart?)\n`,
      );
      assert.deepEqual(fake.requests, ['GET /api/v1/servers/everything/logs?follow=true']);
    });
  });

  describe('status --watch', () => {
    it('takes --interval only with --watch, and only a duration above 0', async () => {
      let run = await runCli('status', '--interval', '5s', '--url', fake.url);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, 'mcpfleet: --interval applies only with --watch\n');
      run = await runCli('status', '--watch', '--interval', 'often', '--url', fake.url);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /"often" is not a duration/);
      run = await runCli('status', '--watch', '--interval', '0s', '--url', fake.url);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /must be more than 0/);
      assert.deepEqual(fake.requests, []);
    });

    it('exits 1 at once when the first snapshot cannot be had', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const { code, stdout, stderr } = await runCli('status', '--watch', '--url', url);
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.match(stderr, /^mcpfleet: cannot reach the controller at /);
    });
  });

  describe('reaching the controller', () => {
    const savedUrl = process.env.MCPFLEET_URL;
    afterEach(() => {
      if (savedUrl === undefined) delete process.env.MCPFLEET_URL;
      else process.env.MCPFLEET_URL = savedUrl;
    });

    it('says where it looked when nothing listens, exit 1, for every command', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      for (const args of [
        ['status'],
        ['status', 'x'],
        ['wake', 'x'],
        ['sleep', 'x'],
        ['events'],
        ['events', '--follow'],
        ['logs', 'x'],
        ['logs', 'x', '--follow'],
      ]) {
        const { code, stdout, stderr } = await runCli(...args, '--url', url);
        assert.equal(code, 1, args.join(' '));
        assert.equal(stdout, '');
        assert.equal(
          stderr,
          `mcpfleet: cannot reach the controller at ${url} (is "npm start" running? set --url or MCPFLEET_URL)\n`,
        );
      }
    });

    it('takes the URL from MCPFLEET_URL, and --url over it', async () => {
      process.env.MCPFLEET_URL = fake.url;
      assert.equal((await runCli('status')).code, 0);
      const elsewhere = `http://127.0.0.1:${await freePort()}`;
      const { code, stderr } = await runCli('status', '--url', elsewhere);
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`cannot reach the controller at ${elsewhere} `));
    });

    it('defaults to http://127.0.0.1:8080', async () => {
      delete process.env.MCPFLEET_URL;
      const { stdout } = await runCli('status', '--help');
      assert.match(
        stdout.replace(/\s+/g, ' '),
        /--url <url> controller base URL \(default: "http:\/\/127\.0\.0\.1:8080", env: MCPFLEET_URL\)/,
      );
    });

    it('gives up after --timeout on a controller that never answers', async () => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
      const started = Date.now();
      try {
        const { code, stderr } = await runCli('status', '--url', url, '--timeout', '300ms');
        assert.equal(code, 1);
        assert.equal(
          stderr,
          `mcpfleet: the controller at ${url} did not answer within 0.3s (see --timeout)\n`,
        );
        assert.ok(Date.now() - started < 3_000);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('explains an answer that is not the mcpfleet API', async () => {
      const web = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>hello</html>');
      });
      await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(web.address() as net.AddressInfo).port}`;
      try {
        const { code, stderr } = await runCli('status', '--url', url);
        assert.equal(code, 1);
        assert.match(
          stderr,
          /answered GET \/api\/v1\/servers with something that is not JSON; is --url pointing at an mcpfleet controller\?/,
        );
        assertNoStackTrace(stderr);
      } finally {
        await new Promise((resolve) => web.close(resolve));
      }
    });

    it('reports a non-API HTTP error by its status, keeping a base path', async () => {
      const url = `${fake.url}/behind-a-broken-proxy`;
      const { code, stderr } = await runCli('status', '--url', url);
      assert.equal(code, 1);
      assert.equal(
        stderr,
        `mcpfleet: the controller at ${url} answered GET /behind-a-broken-proxy/api/v1/servers with HTTP 502 Bad Gateway\n`,
      );
    });

    it('rejects a URL that is not http(s)', async () => {
      const { code, stderr } = await runCli('status', '--url', 'localhost:8080');
      assert.equal(code, 1);
      assert.equal(
        stderr,
        'mcpfleet: invalid controller URL "localhost:8080": the scheme must be http:// or https://\n',
      );
    });

    it('rejects a timeout that is not a duration', async () => {
      const { code, stderr } = await runCli('status', '--url', fake.url, '--timeout', 'soon');
      assert.equal(code, 1);
      assert.match(stderr, /"soon" is not a duration/);
    });

    it('the real executable prints the message, not a stack trace, and exits 1', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const bin = fileURLToPath(new URL('../../../controller/cli/bin.js', import.meta.url));
      const child = spawn(process.execPath, [bin, 'status', '--url', url], {
        env: { ...process.env, MCPFLEET_URL: '' },
      });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.equal(
        stderr,
        `mcpfleet: cannot reach the controller at ${url} (is "npm start" running? set --url or MCPFLEET_URL)\n`,
      );
    });
  });

  describe('help', () => {
    for (const [command, description, example] of [
      ['status', /Show the state of every server, or of one/, /mcpfleet status everything --json/],
      ['wake', /Wake a server now/, /mcpfleet wake everything/],
      ['sleep', /Put a server to sleep now/, /mcpfleet sleep everything/],
      ['events', /List recent events/, /mcpfleet events everything --type wake --limit 5/],
      ['logs', /Show a server's recent log lines/, /mcpfleet logs everything --follow --lines 20/],
    ] as const) {
      it(`documents "${command}" with a description and an example`, async () => {
        const { code, stdout } = await runCli(command, '--help');
        assert.equal(code, 0);
        assert.match(stdout, description);
        assert.match(stdout, /Examples?:\n/);
        assert.match(stdout, example);
        assert.match(stdout, /--json/);
        assert.match(stdout, /--url <url>/);
      });
    }

    it('lists the operator commands in the top-level help', async () => {
      const { stdout } = await runCli('--help');
      for (const command of ['status', 'wake', 'sleep', 'events', 'logs']) {
        assert.match(stdout, new RegExp(`\\n  ${command} `));
      }
    });
  });
});
