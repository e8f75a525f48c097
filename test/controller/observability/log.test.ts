// The controller's log as it leaves the process (JSON lines, or pino-pretty's readable ones)
// and as `mcpfleet logs` keeps it: each server's lines in a bounded ring, fed by the logger,
// and a child process's output split into one record per line.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { ServerLogLine } from '../../../controller/api/types.ts';
import { outputLog } from '../../../controller/bridge/output-log.ts';
import { createLogger, resolveLogFormat } from '../../../controller/observability/log.ts';
import { ServerLogs } from '../../../controller/observability/server-logs.ts';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

describe('controller log', function () {
  describe('format', function () {
    it('is JSON lines by default, every binding kept', function () {
      const out = sink();
      const logger = createLogger({ level: 'info', destination: out.stream });
      logger
        .child({ server: 'everything', replica: 'everything-1a2b' })
        .info({ stderr: 'Starting server' }, 'server stderr');
      const record = JSON.parse(out.text()) as Record<string, unknown>;
      assert.equal(record.level, 30);
      assert.equal(record.service, 'mcpfleet');
      assert.equal(record.server, 'everything');
      assert.equal(record.replica, 'everything-1a2b');
      assert.equal(record.stderr, 'Starting server');
      assert.equal(record.msg, 'server stderr');
    });

    it('pretty: time, level, [slug] and the line or message, then the few other fields', function () {
      const out = sink();
      const logger = createLogger({ level: 'info', format: 'pretty', destination: out.stream });
      const server = logger.child({ component: 'runtime', server: 'everything', replica: 'r-1' });
      server.info({ stderr: 'Starting default (STDIO) server...' }, 'server stderr');
      server.info({ stdout: 'listening on 3001' }, 'server stdout');
      server.info({ event: 'wake', durationMs: 812 }, 'ready in 812ms');
      logger.child({ component: 'fleet' }).warn({ servers: 2 }, 'fleet started');
      const lines = out
        .text()
        .trimEnd()
        .split('\n')
        .map((line) => line.replace(/^\[\d\d:\d\d:\d\d\.\d{3}\] /, '[TIME] '));
      assert.deepEqual(lines, [
        '[TIME] INFO: [everything] Starting default (STDIO) server...',
        '[TIME] INFO: [everything] listening on 3001',
        '[TIME] INFO: [everything] ready in 812ms {"event":"wake","durationMs":812}',
        '[TIME] WARN: fleet started {"servers":2}',
      ]);
    });

    it('auto is pretty only when stdout is a terminal; json and pretty are taken as said', function () {
      assert.equal(resolveLogFormat(undefined, false), 'json');
      assert.equal(resolveLogFormat('auto', false), 'json');
      assert.equal(resolveLogFormat('auto', true), 'pretty');
      assert.equal(resolveLogFormat('json', true), 'json');
      assert.equal(resolveLogFormat('pretty', false), 'pretty');
    });
  });

  describe('ServerLogs', function () {
    function logged(serverLogs: ServerLogs) {
      return createLogger({ level: 'info', destination: sink().stream, serverLogs });
    }

    it("keeps each server's lines apart, from its processes and from the controller", function () {
      const serverLogs = new ServerLogs();
      const logger = logged(serverLogs);
      const alpha = logger.child({ server: 'alpha', replica: 'alpha-1' });
      alpha.info({ stderr: 'hello from alpha' }, 'server stderr');
      logger.child({ server: 'beta' }).info({ stdout: 'hello from beta' }, 'server stdout');
      logger.info({ server: 'alpha', event: 'wake', durationMs: 5 }, 'ready in 5ms');
      alpha.error({ err: new Error('boom') }, 'health check failed');
      logger.info('fleet started'); // about no server
      const strip = ({ time, ...line }: ServerLogLine) => {
        assert.ok(!Number.isNaN(Date.parse(time)));
        return line;
      };
      assert.deepEqual(serverLogs.tail('alpha').map(strip), [
        {
          level: 'info',
          source: 'stderr',
          replica: 'alpha-1',
          message: 'hello from alpha',
          fields: {},
        },
        {
          level: 'info',
          source: 'controller',
          replica: null,
          message: 'ready in 5ms',
          fields: { event: 'wake', durationMs: 5 },
        },
        {
          level: 'error',
          source: 'controller',
          replica: 'alpha-1',
          message: 'health check failed',
          fields: { err: 'boom' },
        },
      ]);
      assert.deepEqual(
        serverLogs.tail('beta').map((l) => [l.source, l.message]),
        [['stdout', 'hello from beta']],
      );
      assert.deepEqual(serverLogs.tail('nobody'), []);
    });

    it('is bounded: the last N lines per server, the last `lines` on asking', function () {
      const serverLogs = new ServerLogs({ linesPerServer: 5 });
      const logger = logged(serverLogs).child({ server: 'alpha' });
      for (let i = 1; i <= 12; i++) logger.info({ stderr: `line ${i}` }, 'server stderr');
      const messages = (lines: ServerLogLine[]) => lines.map((l) => l.message);
      assert.deepEqual(
        messages(serverLogs.tail('alpha')),
        [8, 9, 10, 11, 12].map((i) => `line ${i}`),
      );
      assert.deepEqual(messages(serverLogs.tail('alpha', 2)), ['line 11', 'line 12']);
      assert.deepEqual(messages(serverLogs.tail('alpha', 50)).length, 5);
    });

    it('drops the least recently written server beyond maxServers', function () {
      const serverLogs = new ServerLogs({ maxServers: 2 });
      const logger = logged(serverLogs);
      for (const server of ['a', 'b', 'a', 'c']) logger.info({ server }, 'something');
      assert.equal(serverLogs.tail('a').length, 2);
      assert.equal(serverLogs.tail('b').length, 0);
      assert.equal(serverLogs.tail('c').length, 1);
    });

    it('keeps only the servers `only` accepts', function () {
      const serverLogs = new ServerLogs();
      serverLogs.only((server) => server !== 'nope');
      const logger = logged(serverLogs);
      logger.info({ server: 'nope' }, 'fleet.acquire failed');
      logger.info({ server: 'alpha' }, 'woke');
      assert.deepEqual(serverLogs.tail('nope'), []);
      assert.equal(serverLogs.tail('alpha').length, 1);
    });

    it('hands a follower each new line of its server until it stops following', function () {
      const serverLogs = new ServerLogs();
      const logger = logged(serverLogs);
      const seen: string[] = [];
      const stop = serverLogs.follow('alpha', (line) => seen.push(line.message));
      logger.info({ server: 'alpha' }, 'one');
      logger.info({ server: 'beta' }, 'not this');
      logger.info({ server: 'alpha' }, 'two');
      stop();
      logger.info({ server: 'alpha' }, 'three');
      assert.deepEqual(seen, ['one', 'two']);
    });

    it('sees only what the log level lets through', function () {
      const serverLogs = new ServerLogs();
      const logger = createLogger({ level: 'warn', destination: sink().stream, serverLogs });
      logger.info({ server: 'alpha' }, 'quiet');
      logger.warn({ server: 'alpha' }, 'loud');
      assert.deepEqual(
        serverLogs.tail('alpha').map((l) => l.message),
        ['loud'],
      );
    });
  });

  describe('a child process output', function () {
    it('is one record per line, a line split across chunks joined, the last one at the end', function () {
      const serverLogs = new ServerLogs();
      const logger = createLogger({ level: 'info', destination: sink().stream, serverLogs });
      const output = outputLog(logger.child({ server: 'alpha' }), 'stderr');
      output.write('first li');
      output.write('ne\r\nsecond line\n\n  \nthi');
      output.write('rd');
      assert.deepEqual(
        serverLogs.tail('alpha').map((l) => l.message),
        ['first line', 'second line'],
      );
      output.end();
      assert.deepEqual(
        serverLogs.tail('alpha').map((l) => [l.source, l.message]),
        [
          ['stderr', 'first line'],
          ['stderr', 'second line'],
          ['stderr', 'third'],
        ],
      );
    });
  });
});
