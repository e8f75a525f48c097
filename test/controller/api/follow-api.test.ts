// The API's follow streams over real HTTP, the fleet stood in by a test double: a server's
// logs (?follow=true) and the events (?follow=true) as text/event-stream — the tail, then
// what comes after, keepalive comments while quiet — and closing the controller ends them.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { FleetEvent, ServerLogLine } from '../../../controller/api/types.ts';
import { ServerLogs } from '../../../controller/observability/server-logs.ts';
import type { EventQuery } from '../../../controller/store/store.ts';
import { waitFor } from '../coord/wait-for.ts';
import { StaticFleet } from '../gateway/static-fleet.ts';
import { startGateway, type RunningGateway } from '../gateway/start-gateway.ts';

/** The test double, reading events as the store does: after a cursor, oldest first. */
class EventsFleet extends StaticFleet {
  failReads = false;
  override async events(query: EventQuery): Promise<FleetEvent[]> {
    if (this.failReads) throw new Error('store unreachable');
    if (query.afterId === undefined) return super.events(query);
    return (await super.events({ ...query, limit: 1000 }))
      .filter((e) => e.id > query.afterId!)
      .sort((a, b) => a.id - b.id);
  }
}

interface Stream {
  status: number;
  contentType: string;
  /** Everything received so far. */
  text(): string;
  /** The `data` of each `<name>` event received so far, parsed. */
  values<T>(name: string): T[];
  ended: Promise<void>;
  close(): void;
}

function openStream(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      const ended = new Promise<void>((done) => res.once('close', () => done()));
      resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type']),
        text: () => text,
        values: <T>(name: string) =>
          text
            .split('\n\n')
            .filter((frame) => frame.split('\n').includes(`event: ${name}`))
            .map(
              (frame) =>
                JSON.parse(
                  frame
                    .split('\n')
                    .find((l) => l.startsWith('data: '))!
                    .slice(6),
                ) as T,
            ),
        ended,
        close: () => req.destroy(),
      });
    });
    req.once('error', reject);
  });
}

function logLine(message: string): ServerLogLine {
  return {
    time: new Date().toISOString(),
    level: 'info',
    source: 'stderr',
    replica: 'alpha-0',
    message,
    fields: {},
  };
}

function event(id: number, server: string, type: string): FleetEvent {
  return {
    id,
    server,
    type,
    at: new Date(Date.parse('2026-01-01T00:00:00Z') + id * 1000).toISOString(),
    durationMs: null,
    message: null,
    data: null,
  };
}

describe('management API follow streams', function () {
  let fleet: EventsFleet;
  let serverLogs: ServerLogs;
  let gateway: RunningGateway;
  const streams: Stream[] = [];

  beforeEach(async function () {
    fleet = new EventsFleet({ alpha: 'http://127.0.0.1:1/mcp', beta: 'http://127.0.0.1:1/mcp' });
    serverLogs = new ServerLogs();
    gateway = await startGateway(fleet, { serverLogs, eventPollMs: 20, followKeepaliveMs: 50 });
  });
  afterEach(async function () {
    for (const stream of streams.splice(0)) stream.close();
    await gateway.close();
  });

  async function follow(path: string): Promise<Stream> {
    const stream = await openStream(`${gateway.base}${path}`);
    streams.push(stream);
    return stream;
  }

  it("a server's logs: the tail, then each new line of that server only", async function () {
    for (const message of ['one', 'two', 'three']) serverLogs.add('alpha', logLine(message));
    const stream = await follow('/api/v1/servers/alpha/logs?follow=true&lines=2');
    assert.equal(stream.status, 200);
    assert.equal(stream.contentType, 'text/event-stream');
    const messages = (): string[] => stream.values<ServerLogLine>('log').map((l) => l.message);
    await waitFor(() => messages().length === 2, { what: 'the tail' });
    assert.deepEqual(messages(), ['two', 'three']);
    serverLogs.add('beta', logLine('not alpha'));
    serverLogs.add('alpha', logLine('four'));
    await waitFor(() => messages().length === 3, { what: 'the new line' });
    assert.deepEqual(messages(), ['two', 'three', 'four']);
  });

  it('sends keepalive comments while nothing happens', async function () {
    const stream = await follow('/api/v1/servers/alpha/logs?follow=true');
    await waitFor(() => stream.text().split(': keepalive\n\n').length > 2, {
      what: 'two keepalive comments',
    });
    assert.deepEqual(stream.values('log'), []);
  });

  it('events: the recent ones oldest first, then each new one matching the filters', async function () {
    fleet.events_.push(
      event(3, 'alpha', 'sleep'),
      event(2, 'alpha', 'wake'),
      event(1, 'beta', 'wake'),
    );
    const stream = await follow('/api/v1/events?follow=true&server=alpha');
    assert.equal(stream.contentType, 'text/event-stream');
    const ids = (): number[] => stream.values<FleetEvent>('event').map((e) => e.id);
    await waitFor(() => ids().length === 2, { what: 'the recent events' });
    assert.deepEqual(ids(), [2, 3]);
    assert.match(stream.text(), /^id: 2\nevent: event\ndata: \{"id":2,/m);
    fleet.events_.unshift(event(4, 'beta', 'sleep'), event(5, 'alpha', 'wake'));
    await waitFor(() => ids().length === 3, { what: 'the new event' });
    assert.deepEqual(ids(), [2, 3, 5]);
  });

  it('events: a store that cannot be read for a while keeps the stream open', async function () {
    const stream = await follow('/api/v1/events?follow=true');
    fleet.failReads = true;
    await waitFor(() => stream.text().includes(': keepalive'), { what: 'a keepalive' });
    fleet.failReads = false;
    fleet.events_.unshift(event(7, 'alpha', 'wake'));
    await waitFor(() => stream.values<FleetEvent>('event').length === 1, { what: 'the event' });
  });

  it('answers 404 / 400 as JSON, not as a stream', async function () {
    for (const [path, status, code] of [
      ['/api/v1/servers/nope/logs?follow=true', 404, 'unknown-server'],
      ['/api/v1/events?follow=true&server=nope', 404, 'unknown-server'],
      ['/api/v1/servers/alpha/logs?follow=maybe', 400, 'bad-query'],
      ['/api/v1/events?follow=1', 400, 'bad-query'],
    ] as const) {
      const stream = await follow(path);
      await stream.ended;
      assert.equal(stream.status, status, path);
      assert.match(stream.contentType, /^application\/json/);
      assert.equal((JSON.parse(stream.text()) as { error: { code: string } }).error.code, code);
    }
  });

  it('closing the controller ends every follow stream at once', async function () {
    const logs = await follow('/api/v1/servers/alpha/logs?follow=true');
    const events = await follow('/api/v1/events?follow=true');
    const started = Date.now();
    await gateway.controller.close(10_000);
    await Promise.all([logs.ended, events.ended]);
    assert.ok(Date.now() - started < 5_000, 'not after the grace period');
  });
});
