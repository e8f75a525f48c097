// Requests held while their server wakes. One entry per waiting request, bounded: past the
// bound the caller is told to come back later instead of piling up memory. Entries leave
// when the wake ends (all released or all failed together) or when their client aborts.

export class HoldQueueFullError extends Error {}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class HoldQueue {
  readonly capacity: number;
  private readonly waiters = new Set<Waiter>();
  /** Called whenever the number of held requests changes. */
  onSizeChange: (size: number) => void = () => {};

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.waiters.size;
  }

  /**
   * Waits until releaseAll() or failAll(). Throws HoldQueueFullError at once when full,
   * and the signal's reason (or an AbortError) when the client goes away.
   */
  hold(signal?: AbortSignal): Promise<void> {
    if (this.waiters.size >= this.capacity)
      return Promise.reject(new HoldQueueFullError('hold queue full'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        if (this.waiters.delete(waiter)) {
          this.onSizeChange(this.waiters.size);
          reject(abortError(signal!));
        }
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.onSizeChange(this.waiters.size);
    });
  }

  releaseAll(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    this.onSizeChange(0);
    for (const waiter of waiters) waiter.resolve();
  }

  failAll(error: Error): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    this.onSizeChange(0);
    for (const waiter of waiters) waiter.reject(error);
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('client went away', 'AbortError');
}
