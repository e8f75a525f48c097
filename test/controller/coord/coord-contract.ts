// The Coord contract, run against every backend (coord.test.ts): what the gateway and the
// lifecycle rely on must hold the same way in-process and over Redis.
import assert from 'node:assert/strict';
import type { Coord } from '../../../controller/coord/coord.ts';
import { waitFor } from './wait-for.ts';

export interface CoordBackend {
  /** A fresh, empty view of shared coordination state. */
  open(): Promise<Coord>;
  /**
   * Another client of the same shared state as `of` (another gateway replica). In-process
   * there is no other replica, so the memory backend returns `of` itself.
   */
  peer(of: Coord): Promise<Coord>;
}

export function coordContract(backend: CoordBackend): void {
  let coord: Coord;
  const opened: Coord[] = [];
  const open = async (): Promise<Coord> => {
    const c = await backend.open();
    opened.push(c);
    return c;
  };
  const peer = async (of: Coord): Promise<Coord> => {
    const c = await backend.peer(of);
    if (c !== of) opened.push(c);
    return c;
  };

  beforeEach(async () => {
    coord = await open();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });

  describe('activity', () => {
    it('is undefined for a server never touched', async () => {
      assert.equal(await coord.lastActivity('never-touched'), undefined);
    });

    it('records the latest touch per server, shared between replicas', async () => {
      const other = await peer(coord);
      await coord.touch('alpha', 1_700_000_000_000);
      await other.touch('alpha', 1_700_000_000_500);
      await coord.touch('beta', 42);
      assert.equal(await other.lastActivity('alpha'), 1_700_000_000_500);
      assert.equal(await coord.lastActivity('alpha'), 1_700_000_000_500);
      assert.equal(await coord.lastActivity('beta'), 42);
    });

    it('never moves backwards when batches arrive out of order', async () => {
      await coord.touch('alpha', 2_000);
      await coord.touch('alpha', 1_000);
      assert.equal(await coord.lastActivity('alpha'), 2_000);
    });
  });

  describe('wake lock', () => {
    it('lets exactly one of many concurrent acquirers win', async () => {
      const replicas = [coord, await peer(coord), await peer(coord)];
      const attempts = Array.from({ length: 60 }, (_, i) =>
        replicas[i % replicas.length]!.acquireWakeLock('burst', `owner-${i}`, 10_000),
      );
      const results = await Promise.all(attempts);
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('is per server', async () => {
      assert.equal(await coord.acquireWakeLock('a', 'one', 10_000), true);
      assert.equal(await coord.acquireWakeLock('b', 'two', 10_000), true);
      assert.equal(await coord.acquireWakeLock('a', 'two', 10_000), false);
    });

    it('is freed by its owner', async () => {
      assert.equal(await coord.acquireWakeLock('a', 'one', 10_000), true);
      await coord.releaseWakeLock('a', 'one');
      assert.equal(await coord.acquireWakeLock('a', 'two', 10_000), true);
    });

    it('ignores a release by anyone but the owner', async () => {
      const other = await peer(coord);
      assert.equal(await coord.acquireWakeLock('a', 'one', 10_000), true);
      await other.releaseWakeLock('a', 'two');
      assert.equal(await other.acquireWakeLock('a', 'two', 10_000), false);
    });

    it('expires after its TTL, so a crashed owner cannot block wakes forever', async () => {
      assert.equal(await coord.acquireWakeLock('a', 'crashed', 50), true);
      assert.equal(await coord.acquireWakeLock('a', 'next', 10_000), false);
      await waitFor(() => coord.acquireWakeLock('a', 'next', 10_000), {
        what: 'the expired lock to be acquirable',
      });
      // The stale owner's late release must not free the new holder's lock.
      await coord.releaseWakeLock('a', 'crashed');
      assert.equal(await coord.acquireWakeLock('a', 'third', 10_000), false);
    });

    it('renews only for its owner, and not once it expired', async () => {
      const other = await peer(coord);
      assert.equal(await coord.acquireWakeLock('r', 'one', 200), true);
      assert.equal(await other.renewWakeLock('r', 'two', 10_000), false);
      assert.equal(await other.renewWakeLock('r', 'one', 10_000), true);
      // Renewed to 10 s: still held well after the first 200 ms would have run out.
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(await other.acquireWakeLock('r', 'two', 10_000), false);
      assert.equal(await coord.acquireWakeLock('s', 'one', 50), true);
      await waitFor(() => coord.acquireWakeLock('s', 'two', 10_000), {
        what: 'the expired lock to be acquirable',
      });
      assert.equal(await coord.renewWakeLock('s', 'one', 10_000), false);
    });

    it('rejects a TTL that is not a positive number', async () => {
      await assert.rejects(coord.acquireWakeLock('a', 'one', 0), RangeError);
      await assert.rejects(coord.acquireWakeLock('a', 'one', Number.NaN), RangeError);
    });
  });

  describe('session routes', () => {
    it('stores, shares and deletes a route', async () => {
      const other = await peer(coord);
      assert.equal(await coord.getSessionRoute('srv', 'sess-1'), undefined);
      await coord.setSessionRoute('srv', 'sess-1', 'replica-a', 10_000);
      assert.equal(await other.getSessionRoute('srv', 'sess-1'), 'replica-a');
      await other.deleteSessionRoute('srv', 'sess-1');
      assert.equal(await coord.getSessionRoute('srv', 'sess-1'), undefined);
    });

    it('keeps routes of different servers and sessions apart', async () => {
      // A ':' in either part must not make two keys collide.
      await coord.setSessionRoute('a:b', 'c', 'first', 10_000);
      await coord.setSessionRoute('a', 'b:c', 'second', 10_000);
      assert.equal(await coord.getSessionRoute('a:b', 'c'), 'first');
      assert.equal(await coord.getSessionRoute('a', 'b:c'), 'second');
      assert.equal(await coord.getSessionRoute('other', 'c'), undefined);
    });

    it('forgets a route after its TTL; setting it again refreshes it', async () => {
      await coord.setSessionRoute('srv', 'short', 'replica-a', 50);
      await coord.setSessionRoute('srv', 'long', 'replica-a', 50);
      await coord.setSessionRoute('srv', 'long', 'replica-b', 60_000);
      await waitFor(async () => (await coord.getSessionRoute('srv', 'short')) === undefined, {
        what: 'the short route to expire',
      });
      assert.equal(await coord.getSessionRoute('srv', 'long'), 'replica-b');
    });
  });

  describe('live sessions', () => {
    it('counts distinct sessions marked by any replica, until unmarked', async () => {
      const other = await peer(coord);
      const until = Date.now() + 60_000;
      await coord.markSessionsLive('srv', ['a', 'b'], until);
      await other.markSessionsLive('srv', ['b', 'c'], until);
      await other.markSessionsLive('elsewhere', ['a'], until);
      assert.equal(await coord.countLiveSessions('srv', Date.now()), 3, 'b counts once');
      await coord.unmarkSessionsLive('srv', ['a', 'b']);
      assert.equal(await other.countLiveSessions('srv', Date.now()), 1);
      assert.equal(await other.countLiveSessions('elsewhere', Date.now()), 1);
      assert.equal(await other.countLiveSessions('never', Date.now()), 0);
    });

    it("lets a mark lapse (a crashed replica's sessions stop counting); renewal keeps the later one", async () => {
      const now = Date.now();
      await coord.markSessionsLive('srv', ['old', 'renewed'], now + 1000);
      await coord.markSessionsLive('srv', ['renewed'], now + 60_000);
      await coord.markSessionsLive('srv', ['renewed'], now + 2000);
      assert.equal(await coord.countLiveSessions('srv', now), 2);
      assert.equal(await coord.countLiveSessions('srv', now + 5000), 1, 'only the renewed one');
    });
  });

  describe('pub/sub', () => {
    it('delivers a message to every subscriber, across replicas', async () => {
      const other = await peer(coord);
      const seenHere: string[] = [];
      const seenThere: string[] = [];
      await coord.subscribe('ready', (m) => seenHere.push(m));
      await other.subscribe('ready', (m) => seenThere.push(m));
      await other.publish('ready', 'everything');
      await waitFor(() => seenHere.length === 1 && seenThere.length === 1, {
        what: 'both subscribers to receive the message',
      });
      assert.deepEqual(seenHere, ['everything']);
      assert.deepEqual(seenThere, ['everything']);
    });

    it('delivers only on the channel subscribed to, in publish order', async () => {
      const seen: string[] = [];
      await coord.subscribe('a', (m) => seen.push(`a:${m}`));
      await coord.publish('b', 'x');
      await coord.publish('a', '1');
      await coord.publish('a', '2');
      await waitFor(() => seen.length >= 2, { what: 'two messages on channel a' });
      assert.deepEqual(seen, ['a:1', 'a:2']);
    });

    it('stops delivering after unsubscribe, leaving other subscribers in place', async () => {
      const gone: string[] = [];
      const stays: string[] = [];
      const unsubscribe = await coord.subscribe('ch', (m) => gone.push(m));
      await coord.subscribe('ch', (m) => stays.push(m));
      await coord.publish('ch', 'before');
      await waitFor(() => gone.length === 1 && stays.length === 1, { what: 'first message' });
      await unsubscribe();
      await coord.publish('ch', 'after');
      // Once the subscriber that stayed has the second message, the first one would have it
      // too if unsubscribe had not worked: both hang off the same connection, in order.
      await waitFor(() => stays.length === 2, { what: 'second message' });
      assert.deepEqual(gone, ['before']);
      await unsubscribe(); // twice is harmless
    });

    it('keeps delivering to others when a subscriber throws', async () => {
      const seen: string[] = [];
      await coord.subscribe('ch', () => {
        throw new Error('subscriber bug');
      });
      await coord.subscribe('ch', (m) => seen.push(m));
      await coord.publish('ch', 'one');
      await coord.publish('ch', 'two');
      await waitFor(() => seen.length === 2, { what: 'both messages' });
    });

    it('resubscribes cleanly after the last subscriber left', async () => {
      const first = await coord.subscribe('ch', () => undefined);
      await first();
      const seen: string[] = [];
      await coord.subscribe('ch', (m) => seen.push(m));
      await coord.publish('ch', 'again');
      await waitFor(() => seen.length === 1, { what: 'message after resubscribe' });
    });
  });

  it('rejects calls after close', async () => {
    const c = await open();
    await c.close();
    await assert.rejects(c.lastActivity('a'));
    await assert.rejects(c.subscribe('ch', () => undefined));
    await c.close(); // closing twice is harmless
  });
}
