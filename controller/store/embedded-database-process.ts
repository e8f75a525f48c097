// The embedded database's own process: PGlite (PostgreSQL in WebAssembly) answering the
// controller over Node IPC (see embedded-database-protocol.ts). Kept out of the controller
// so its heap is measured on its own and a crash in it cannot take the gateway down.
// Started by openEmbeddedDatabase as: embedded-database-process.ts <dataDir> <init|serve>
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import {
  toWireError,
  type EmbeddedMode,
  type EmbeddedReply,
  type EmbeddedRequest,
  type EmbeddedStartup,
} from './embedded-database-protocol.ts';

/**
 * PostgreSQL's default (128 MB) is allocated up front in PGlite's WebAssembly heap. The
 * controller's tables are small. Measured (serving process RSS, fresh / after 60,000
 * writes): 8 MB 199 / 269 MB, 16 MB 191 / 283 MB, 128 MB 321 / 395 MB, same throughput.
 */
const SHARED_BUFFERS = '8MB';
/** Bound on closing PGlite when the controller is gone: then exit regardless. */
const ORPHAN_CLOSE_MS = 5_000;

const [dataDir, mode] = process.argv.slice(2) as [string | undefined, EmbeddedMode | undefined];
if (!process.send || dataDir === undefined || (mode !== 'init' && mode !== 'serve')) {
  console.error(
    'embedded-database-process.ts is started by the controller (openEmbeddedDatabase), ' +
      'with an IPC channel and the arguments <dataDir> <init|serve>',
  );
  process.exit(2);
}
process.title = 'mcpfleet-embedded-db';

let db: PGlite | undefined;
// The controller died (or closed its end): nobody can ask anything any more. Close PGlite
// so the data directory is left clean, within a bound, and never linger as an orphan.
process.on('disconnect', () => {
  const closed = db && !db.closed ? db.close() : Promise.resolve();
  setTimeout(() => process.exit(1), ORPHAN_CLOSE_MS);
  void closed.then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

/** Resolves once sent, or at once when the parent is gone; rejects if it cannot serialize. */
function send(message: EmbeddedStartup | EmbeddedReply): Promise<void> {
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

try {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) await mkdir(dataDir, { recursive: true });
  db = await PGlite.create(
    dataDir,
    // initdb runs with PGlite's defaults: its process exits right after, so its page cache
    // does not matter. The serving process, which stays, gets the small one.
    mode === 'init'
      ? {}
      : { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`] },
  );
} catch (err) {
  await send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

if (mode === 'init') {
  await db.close();
  await send({ type: 'ready' });
  process.exit(0);
}

const open = db;
// One request at a time, in arrival order: the parent serializes transactions on the
// assumption that statements run in the order it sent them.
let queue = Promise.resolve();
process.on('message', (request: EmbeddedRequest) => {
  queue = queue.then(() => answer(open, request)).catch(() => undefined);
});
await send({ type: 'ready' });

async function answer(database: PGlite, request: EmbeddedRequest): Promise<void> {
  if (request.op === 'close') return closeAndExit(database, request.id);
  let reply: EmbeddedReply;
  try {
    if (request.op === 'query') {
      reply = { id: request.id, rows: (await database.query(request.sql, request.params)).rows };
    } else {
      await database.exec(request.sql);
      reply = { id: request.id, rows: [] };
    }
  } catch (err) {
    reply = { id: request.id, error: toWireError(err) };
  }
  // A row that cannot be serialized still gets an answer, so the caller never waits forever.
  await send(reply).catch((err: unknown) => send({ id: request.id, error: toWireError(err) }));
}

async function closeAndExit(database: PGlite, id: number): Promise<never> {
  try {
    await database.close();
    await send({ id, rows: [] });
    process.exit(0);
  } catch (err) {
    await send({ id, error: toWireError(err) }).catch(() => undefined);
    process.exit(1);
  }
}
