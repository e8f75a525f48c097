// The embedded database in its own process: the Store contract over IPC, errors and values
// across the boundary, and what happens when either process dies.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  openEmbeddedDatabase,
  type EmbeddedDatabase,
} from '../../../controller/store/embedded-database.ts';
import { createLogger } from '../../../controller/observability/log.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import type { RestartPolicyOptions } from '../../../controller/store/restart-policy.ts';
import type { SqlDatabase } from '../../../controller/store/sql.ts';
import { SqlStore } from '../../../controller/store/sql-store.ts';
import type { Store } from '../../../controller/store/store.ts';
import { groupMembers, isAlive, waitFor } from '../support/processes.ts';
import { storeContract } from './store-contract.ts';

const PARENT_FIXTURE = fileURLToPath(
  new URL('../../fixtures/embedded-db-parent.ts', import.meta.url),
);
/** Opening runs PGlite (and initdb for a new directory): seconds, more on a busy machine. */
const OPEN_TIMEOUT_MS = 90_000;

function appliedMigrations(store: Store): Promise<string[]> {
  assert.ok(store instanceof SqlStore);
  return store.appliedMigrations();
}

/**
 * A view of a shared embedded database that works in its own schema; close() leaves the
 * database open for the next test (starting a process per test would take seconds each).
 */
async function schemaView(db: SqlDatabase, schema: string): Promise<SqlDatabase> {
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
  return {
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    close: async () => {},
    description: db.description,
  };
}

/** The Store contract over one embedded database process, a fresh schema per test. */
function contractOver(open: () => Promise<EmbeddedDatabase>, prefix: string): void {
  let db: EmbeddedDatabase;
  let count = 0;
  before(async function () {
    this.timeout(OPEN_TIMEOUT_MS);
    db = await open();
  });
  after(async () => {
    await db.close();
  });
  storeContract({
    open: async (options) => {
      const schema = `${prefix}_${count++}`;
      const store = new SqlStore(await schemaView(db, schema), { schema, ...options });
      await store.migrate();
      return store;
    },
    appliedMigrations,
  });
}

/**
 * Whether PostgreSQL last stopped cleanly: ControlFileData.state in global/pg_control
 * (after the u64 system identifier and two u32 versions) is 1 (DB_SHUTDOWNED) after a
 * clean close, 6 (DB_IN_PRODUCTION) while open or after a crash.
 */
async function shutDownCleanly(dataDir: string): Promise<boolean> {
  const control = await readFile(join(dataDir, 'global', 'pg_control'));
  return control.readUInt32LE(16) === 1;
}

/** A logger whose lines the test can read. */
function capturingLogger(level = 'warn') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

/** The first log line whose message matches, parsed. */
function logged(lines: string[], message: RegExp): Record<string, unknown> {
  const line = lines.find((l) => message.test(JSON.parse(l).msg));
  assert.ok(line, `no log line matches ${message}: ${lines.join('')}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** In memory, with its log and a view of the processes it left behind (none, once closed). */
async function openWatched(restartPolicy: RestartPolicyOptions) {
  const { logger, lines } = capturingLogger();
  const before = embeddedProcesses();
  const db = await openEmbeddedDatabase('memory://', { logger, restartPolicy });
  const leftBehind = () => embeddedProcesses().filter((pid) => !before.includes(pid));
  return { db, lines, leftBehind };
}

/** Kills the database process and waits until another serves (the pid changes then). */
async function killAndAwaitRestart(db: EmbeddedDatabase): Promise<void> {
  const killed = db.pid;
  process.kill(killed, 'SIGKILL');
  await waitFor(() => db.pid !== killed, OPEN_TIMEOUT_MS / 2, `a restart after killing ${killed}`);
}

/** Our live embedded database processes: to tell that none is left behind. */
function embeddedProcesses(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,stat=,args=', '--ppid', String(process.pid)], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(
      ([, stat, title]) =>
        stat !== undefined && !stat.startsWith('Z') && title === 'mcpfleet-embedded-db',
    )
    .map(([pid]) => Number(pid));
}

describe('embedded database (PGlite in a child process)', () => {
  let dir: string;
  // A first run (initdb) takes seconds; every test that needs a data directory of its own
  // starts from a copy of this one instead (store.test.ts covers the first run itself).
  let template: string;
  before(async function () {
    this.timeout(OPEN_TIMEOUT_MS);
    dir = await mkdtemp(join(tmpdir(), 'mcpfleet-embedded-'));
    template = join(dir, 'template');
    const { logger, lines } = capturingLogger('info');
    await (await openEmbeddedDatabase(template, { logger })).close();
    firstStartLines = lines;
  });
  let firstStartLines: string[] = [];

  it('says what it is doing on a first start (creating the database takes seconds)', () => {
    assert.ok(
      firstStartLines.some((line) => /first start: creating the embedded database/.test(line)),
      firstStartLines.join(''),
    );
  });
  async function freshDataDir(name: string): Promise<string> {
    const dataDir = join(dir, name);
    await cp(template, dataDir, { recursive: true });
    return dataDir;
  }
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('Store contract, in memory', () => {
    contractOver(() => openEmbeddedDatabase('memory://'), 'embedded_mem');
  });

  describe('Store contract, on disk', () => {
    contractOver(async () => openEmbeddedDatabase(await freshDataDir('contract')), 'embedded_disk');
  });

  describe('one process', () => {
    let db: EmbeddedDatabase;
    before(async function () {
      this.timeout(OPEN_TIMEOUT_MS);
      db = await openEmbeddedDatabase(await freshDataDir('one-process'), { schema: 'one_process' });
      await db.exec('CREATE TABLE items (id int PRIMARY KEY, note text)');
    });
    after(async () => {
      await db.close();
    });
    beforeEach(async () => {
      await db.exec('TRUNCATE items');
    });

    it('runs in a process of its own, in the schema it was given', async () => {
      assert.ok(db.pid > 0 && db.pid !== process.pid);
      assert.ok(isAlive(db.pid));
      const [row] = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
      assert.equal(row?.schema, 'one_process');
    });

    it('keeps value types across the process boundary', async () => {
      const at = new Date('2026-01-02T03:04:05.678Z');
      const [row] = await db.query<Record<string, unknown>>(
        `SELECT $1::timestamptz AS at, 9007199254740993::bigint AS big, '{"a":[1,2]}'::jsonb AS doc,
                '\\x0102'::bytea AS bytes, NULL::text AS nothing, true AS yes`,
        [at],
      );
      assert.deepEqual(row, {
        at,
        big: 9007199254740993n,
        doc: { a: [1, 2] },
        bytes: new Uint8Array([1, 2]),
        nothing: null,
        yes: true,
      });
    });

    it('rejects a failed statement with the PostgreSQL error fields', async () => {
      await assert.rejects(db.query('SELECT * FROM no_such_table'), (err: Error) => {
        assert.ok(err instanceof Error);
        assert.equal(err.message, 'relation "no_such_table" does not exist');
        assert.equal((err as Error & { code?: string }).code, '42P01');
        assert.equal((err as Error & { position?: string }).position, '15');
        return true;
      });
      await db.query('INSERT INTO items VALUES (1)');
      await assert.rejects(db.query('INSERT INTO items VALUES (1)'), (err: Error) => {
        const fields = err as Error & { code?: string; constraint?: string; detail?: string };
        assert.equal(fields.code, '23505');
        assert.equal(fields.constraint, 'items_pkey');
        assert.equal(fields.detail, 'Key (id)=(1) already exists.');
        return true;
      });
      await assert.rejects(db.exec('SELECT 1; SELEC 2'), { code: '42601' });
    });

    it('rolls a failed transaction back, rethrows, and stays usable', async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO items VALUES (1)');
          await tx.query('SELECT * FROM no_such_table');
        }),
        { code: '42P01' },
      );
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO items VALUES (2)');
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      assert.deepEqual(await db.query('SELECT id FROM items'), []);
      assert.equal(
        await db.transaction(async (tx) => {
          await tx.exec('INSERT INTO items VALUES (3)');
          return 'done';
        }),
        'done',
      );
      assert.deepEqual(await db.query('SELECT id FROM items'), [{ id: 3 }]);
    });

    it('keeps calls made during a transaction out of it, until it ends', async () => {
      let outsideDone = false;
      let outside: Promise<unknown> | undefined;
      const transaction = db.transaction(async (tx) => {
        await tx.query('INSERT INTO items VALUES (1)');
        outside = db.query('INSERT INTO items VALUES (2)').then(() => (outsideDone = true));
        // A round trip inside the transaction: had the outside insert been sent, it would
        // have been answered before this.
        await tx.query('SELECT 1');
        assert.equal(outsideDone, false);
        throw new Error('roll back');
      });
      await assert.rejects(transaction, /roll back/);
      await outside;
      assert.deepEqual(await db.query('SELECT id FROM items'), [{ id: 2 }]);
    });

    it('runs concurrent transactions one after another', async () => {
      const transactions = Array.from({ length: 5 }, () =>
        db.transaction(async (tx) => {
          const [row] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM items');
          await tx.query('INSERT INTO items VALUES ($1)', [row!.n]);
        }),
      );
      const queries = Array.from({ length: 5 }, (_, i) => db.query('SELECT $1::int', [i]));
      await Promise.all([...transactions, ...queries]);
      const rows = await db.query<{ id: number }>('SELECT id FROM items ORDER BY id');
      assert.deepEqual(
        rows.map((r) => r.id),
        [0, 1, 2, 3, 4],
      );
    });
  });

  it('keeps data across close and reopen', async function () {
    this.timeout(OPEN_TIMEOUT_MS);
    const dataDir = await freshDataDir('reopen');
    const first = await openEmbeddedDatabase(dataDir, { schema: 'kept' });
    await first.exec('CREATE TABLE notes (body text)');
    await first.query('INSERT INTO notes VALUES ($1)', ['written before close']);
    await first.close();
    assert.ok(!isAlive(first.pid));
    await assert.rejects(first.query('SELECT 1'), /is closed/);
    const second = await openEmbeddedDatabase(dataDir, { schema: 'kept' });
    try {
      assert.deepEqual(await second.query('SELECT body FROM notes'), [
        { body: 'written before close' },
      ]);
    } finally {
      await second.close();
    }
  });

  describe('when the database process dies', () => {
    it('restarts it: the call in flight fails, committed writes survive, later calls wait and run', async function () {
      this.timeout(OPEN_TIMEOUT_MS);
      const { logger, lines } = capturingLogger();
      const db = await openEmbeddedDatabase(await freshDataDir('killed'), {
        schema: 'survives',
        logger,
      });
      try {
        await db.exec('CREATE TABLE notes (note text)');
        await db.query('INSERT INTO notes VALUES ($1)', ['committed']);
        const killed = db.pid;
        let later: Promise<unknown> | undefined;
        // In flight when the process dies: a transaction with an uncommitted write, busy for
        // 30 s, so the kill lands while it waits for an answer.
        const inFlight = db.transaction(async (tx) => {
          await tx.query('INSERT INTO notes VALUES ($1)', ['uncommitted']);
          // Made during the transaction, so it waits for it, then for the restart.
          later = db.query('SELECT note, current_schema() AS schema FROM notes');
          await tx.query('SELECT pg_sleep(30)');
        });
        await waitFor(() => later !== undefined, 10_000, 'the transaction to be under way');
        process.kill(killed, 'SIGKILL');
        const started = Date.now();
        await assert.rejects(
          inFlight,
          /embedded database process exited \(code null \/ signal SIGKILL\); see the log/,
        );
        assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
        // On the new process, in the schema set at open: the commit survived, the rest not.
        assert.deepEqual(await later, [{ note: 'committed', schema: 'survives' }]);
        assert.notEqual(db.pid, killed);
        assert.ok(isAlive(db.pid));
        await db.transaction(async (tx) => {
          await tx.query('INSERT INTO notes VALUES ($1)', ['after']);
        });
        assert.equal((await db.query('SELECT note FROM notes')).length, 2);
        const restart = logged(lines, /restarting it/);
        assert.equal(restart.level, 50); // error
        assert.equal(restart.signal, 'SIGKILL');
        assert.equal(restart.code, null);
        assert.equal(restart.attempt, 1);
        assert.equal(restart.pid, killed);
      } finally {
        await db.close();
      }
      assert.ok(!isAlive(db.pid));
    });

    it('restarts an in-memory store with its tables created again (its data is gone)', async function () {
      this.timeout(OPEN_TIMEOUT_MS);
      const { logger, lines } = capturingLogger('info');
      const before = embeddedProcesses();
      const store = await openStore({ dataDir: 'memory://', logger });
      try {
        const [pid] = embeddedProcesses().filter((p) => !before.includes(p));
        assert.ok(pid, 'no embedded database process found');
        await store.recordEvent({ server: 'a', type: 'wake', message: 'before the crash' });
        process.kill(pid, 'SIGKILL');
        await waitFor(
          () => lines.some((line) => /was restarted/.test(line)),
          OPEN_TIMEOUT_MS / 2,
          'the database process to be restarted',
        );
        await store.recordEvent({ server: 'a', type: 'wake', message: 'after the restart' });
        const events = await store.listEvents({});
        assert.deepEqual(
          events.map((e) => e.message),
          ['after the restart'],
        );
        assert.ok((await appliedMigrations(store)).length > 0);
      } finally {
        await store.close();
      }
    });

    it('gives up on a crash loop: calls then say it crashed repeatedly, no process is left', async function () {
      this.timeout(OPEN_TIMEOUT_MS);
      const { db, lines, leftBehind } = await openWatched({
        crashLoopExits: 3,
        firstBackoffMs: 10,
      });
      try {
        for (let restart = 1; restart < 3; restart++) {
          await killAndAwaitRestart(db);
          assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
        }
        const last = db.pid;
        process.kill(last, 'SIGKILL');
        const crashedRepeatedly = new RegExp(
          String.raw`the embedded database crashed repeatedly \(3 unexpected exits within 60 s\)` +
            String.raw` and is not restarted again; the last: process ${last} was killed by SIGKILL\.`,
        );
        await waitFor(
          () =>
            db.query('SELECT 1').then(
              () => false,
              (err: Error) => crashedRepeatedly.test(err.message),
            ),
          10_000,
          'calls to fail with "crashed repeatedly"',
        );
        await assert.rejects(
          db.transaction(async () => {}),
          crashedRepeatedly,
        );
        assert.equal(db.pid, last);
        await waitFor(() => leftBehind().length === 0, 10_000, 'no database process left');
        assert.ok(lines.some((line) => crashedRepeatedly.test(JSON.parse(line).msg)));
      } finally {
        await db.close(); // nothing left to close: must not hang or throw
      }
      await assert.rejects(db.query('SELECT 1'), /is closed/);
    });

    it('close() during a restart backoff stops it: resolves, fails waiting calls, leaves no process', async function () {
      this.timeout(OPEN_TIMEOUT_MS);
      const { db, lines, leftBehind } = await openWatched({
        firstBackoffMs: 60_000,
        maxBackoffMs: 60_000,
      });
      try {
        await killAndAwaitRestart(db); // the first restart is immediate
        process.kill(db.pid, 'SIGKILL'); // the second waits 60 s
        await waitFor(
          () => lines.some((line) => JSON.parse(line).attempt === 2),
          10_000,
          'the second restart to be scheduled',
        );
        assert.match(
          logged(lines, /attempt 2/).msg as string,
          /restarting it \(attempt 2, in 60000 ms\)$/,
        );
        const waiting = db.query('SELECT 1');
        const started = Date.now();
        await db.close();
        assert.ok(Date.now() - started < 10_000, `close took ${Date.now() - started} ms`);
        await assert.rejects(waiting, /is closed/);
        assert.deepEqual(leftBehind(), []);
      } finally {
        await db.close(); // idempotent: only matters when an assertion failed first
      }
    });

    it('close() kills a process that does not exit within its grace', async function () {
      this.timeout(OPEN_TIMEOUT_MS);
      const db = await openEmbeddedDatabase(await freshDataDir('stuck'), { closeGraceMs: 300 });
      // The close request waits behind this, so the child cannot exit in time.
      const busy = db.query('SELECT pg_sleep(30)');
      const started = Date.now();
      await db.close();
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
      assert.ok(!isAlive(db.pid));
      await assert.rejects(busy, /is closed/);
    });
  });

  it('leaves no orphan when the controller is killed: the child closes the database and exits', async function () {
    this.timeout(OPEN_TIMEOUT_MS);
    const dataDir = await freshDataDir('orphan');
    // Its own process group, so the test can tell when the parent and all it started are gone.
    const parent = spawn(process.execPath, [PARENT_FIXTURE, dataDir], {
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(createInterface({ input: parent.stdout }), 'line')) as [string];
      const { childPid } = JSON.parse(line) as { childPid: number };
      assert.ok(isAlive(childPid));
      process.kill(parent.pid!, 'SIGKILL');
      await waitFor(
        () => groupMembers(parent.pid!).length === 0,
        30_000,
        `the embedded database process ${childPid} to exit after its parent was killed`,
      );
    } finally {
      for (const pid of groupMembers(parent.pid!)) process.kill(pid, 'SIGKILL');
    }
    // Left alone, the child closed PGlite itself before exiting.
    assert.ok(await shutDownCleanly(dataDir), 'the orphaned database was not closed cleanly');
    const db = await openEmbeddedDatabase(dataDir);
    try {
      assert.deepEqual(await db.query('SELECT note FROM written_before_kill'), [
        { note: 'still here' },
      ]);
    } finally {
      await db.close();
    }
  });

  it('names the data directory it cannot create', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(
      openEmbeddedDatabase(join(file, 'pgdata')),
      /^Error: cannot open the embedded database under ".*\/a-file\/pgdata": ENOTDIR/,
    );
  });
});
