// The idle timeout in a cluster, where a session's requests may reach any controller replica:
// two replicas' session bookkeeping (each its own SessionBook cache and ServerSessions) over
// one coordination store. A session that replica A opened and B now serves is not ended by A
// for idleness while B's client uses it — the record carries when it was last used — and is
// ended once nobody uses it.
import assert from 'node:assert/strict';
import { MemoryCoord } from '../../../controller/coord/memory.ts';
import { EventLog } from '../../../controller/fleet/event-log.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import type { Store } from '../../../controller/store/store.ts';
import { ServerSessions } from '../../../controller/sessions/server-sessions.ts';
import { SessionBook } from '../../../controller/sessions/session-book.ts';
import type { BackendBinding } from '../../../controller/sessions/session-record.ts';
import { waitFor } from '../support/processes.ts';

const IDLE_MS = 1000;

describe('idle sessions across controller replicas (issue 12)', function () {
  this.timeout(30_000);
  let store: Store;
  const books: SessionBook[] = [];
  const replicas: ServerSessions[] = [];

  before(async function () {
    store = await openStore({ dataDir: 'memory://' });
  });

  after(async function () {
    for (const sessions of replicas) sessions.dropLive();
    await Promise.all(books.map((book) => book.close()));
    await store?.close();
  });

  function replica(coord: MemoryCoord, ended: BackendBinding[]): ServerSessions {
    const logger = silentLogger();
    const book = new SessionBook(coord, logger);
    books.push(book);
    const sessions = new ServerSessions({
      slug: 'idle-replicas',
      book,
      events: new EventLog(store, logger),
      logger,
      resumes: () => true,
      onChange: () => {},
      limits: () => ({ capacity: 10, perClient: 10, idleTimeoutMs: IDLE_MS }),
      onIdle: (binding) => ended.push(binding),
    });
    replicas.push(sessions);
    return sessions;
  }

  it('is not ended by one replica while another serves it, and is once nobody does', async function () {
    const coord = new MemoryCoord();
    const endedByA: BackendBinding[] = [];
    const endedByB: BackendBinding[] = [];
    const a = replica(coord, endedByA);
    const b = replica(coord, endedByB);
    const binding = { replicaId: 'pod-1', sessionId: 'backend-1' };
    const id = await a.opened(binding, {}, undefined, 'client-1');
    b.adopt(id, binding.replicaId, 'client-1');
    // The client's requests now reach B only, for three idle timeouts.
    const until = Date.now() + 3 * IDLE_MS;
    while (Date.now() < until) {
      b.requestBegan(id, true)();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(endedByA, [], 'A did not end a session B serves');
    assert.ok(await b.find(id, true), 'the session lives');
    // Nobody uses it now: it ends.
    await waitFor(() => endedByA.length + endedByB.length > 0, 10_000, 'the idle session to end');
    assert.deepEqual([...endedByA, ...endedByB][0], binding);
    assert.equal(await a.find(id, true), undefined);
  });
});
