// The fleet closes the store when it stops, but the audit log's last records are made as the
// gateway's final replies end — after the fleet has begun stopping. So the fleet is handed the
// store through this: its close() first waits until the HTTP server has closed (no reply can
// end after that) and the audit log has written what it holds, then closes the store.
import type { Store } from '../store/store.ts';

/** Past this the store closes anyway: a fleet stopped on its own must not wait forever. */
const MAX_WAIT_MS = 30_000;

export interface StoreClosingLast {
  store: Store;
  /** The HTTP server has closed (or never opened): the final flush may run. */
  gatewayClosed(): void;
}

export function storeClosingLast(store: Store, finalFlush: () => Promise<void>): StoreClosingLast {
  let gatewayClosed!: () => void;
  const closed = new Promise<void>((resolve) => (gatewayClosed = resolve));
  const close = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((resolve) => (timer = setTimeout(resolve, MAX_WAIT_MS))),
    ]);
    clearTimeout(timer);
    try {
      await finalFlush();
    } finally {
      await store.close();
    }
  };
  // A Proxy, not a copy: SqlStore's methods use private fields, so they run on the store itself.
  const wrapped = new Proxy(store, {
    get(target, property) {
      if (property === 'close') return close;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  return { store: wrapped, gatewayClosed };
}
