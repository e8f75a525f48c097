// Starting PGlite takes seconds: one in-memory instance serves a suite, each test a fresh
// schema in it (the same isolation the PostgreSQL suites use). Registers its own hooks.
import { PGlite } from '@electric-sql/pglite';
import { usePGlite } from '../../../controller/store/pglite-database.ts';
import { SqlStore, type SqlStoreOptions } from '../../../controller/store/sql-store.ts';

export interface SharedPGlite {
  /** A migrated store over a fresh schema. */
  open(options?: SqlStoreOptions): Promise<SqlStore>;
  /** The instance, and the schema of the last open(), for reading tables directly. */
  instance(): PGlite;
  lastSchema(): string;
}

export function sharedPGlite(prefix: string): SharedPGlite {
  let shared: PGlite;
  let count = 0;
  before(async () => {
    shared = await PGlite.create('memory://');
  });
  after(async () => {
    await shared.close();
  });
  return {
    open: async (options = {}) => {
      const schema = `${prefix}_${count++}`;
      const store = new SqlStore(await usePGlite(shared, { schema }), { schema, ...options });
      await store.migrate();
      return store;
    },
    instance: () => shared,
    lastSchema: () => `${prefix}_${count - 1}`,
  };
}
