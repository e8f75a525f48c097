// When to restart the embedded database process after it died unexpectedly, and when to
// stop. A one-off crash (an OOM kill, a stray `kill`) is restarted at once; repeated ones
// back off, so a database that cannot stay up does not eat the machine; a crash loop gives
// up, because restarting yet again would only hide a cause that will not go away by itself
// (a damaged data directory, too little memory, a bug).

/**
 * This many unexpected exits within CRASH_LOOP_WINDOW_MS is a crash loop, not bad luck.
 * With the backoff below, the fifth exit in a row comes at least 7 s after the first.
 */
export const CRASH_LOOP_EXITS = 5;
export const CRASH_LOOP_WINDOW_MS = 60_000;
/** The wait before the second restart in a row (the first is immediate); doubled each time. */
export const FIRST_BACKOFF_MS = 1_000;
export const MAX_BACKOFF_MS = 30_000;

export interface RestartPolicyOptions {
  /** Unexpected exits within crashLoopWindowMs that make a crash loop; default 5. */
  crashLoopExits?: number;
  /** default 60 s */
  crashLoopWindowMs?: number;
  /** default 1 s */
  firstBackoffMs?: number;
  /** default 30 s */
  maxBackoffMs?: number;
  /** The clock, for tests; default Date.now. */
  now?: () => number;
}

/** The restart to make: which one it is among the recent exits, and how long to wait first. */
export interface Restart {
  attempt: number;
  delayMs: number;
}

export class RestartPolicy {
  readonly crashLoopExits: number;
  readonly crashLoopWindowMs: number;
  readonly #firstBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #now: () => number;
  /** When the exits within the window happened: old ones age out, so a stable run resets. */
  #recentExits: number[] = [];

  constructor(options: RestartPolicyOptions = {}) {
    this.crashLoopExits = count('crashLoopExits', options.crashLoopExits ?? CRASH_LOOP_EXITS);
    this.crashLoopWindowMs = duration(
      'crashLoopWindowMs',
      options.crashLoopWindowMs ?? CRASH_LOOP_WINDOW_MS,
    );
    this.#firstBackoffMs = duration('firstBackoffMs', options.firstBackoffMs ?? FIRST_BACKOFF_MS);
    this.#maxBackoffMs = duration('maxBackoffMs', options.maxBackoffMs ?? MAX_BACKOFF_MS);
    this.#now = options.now ?? Date.now;
  }

  /** Records an unexpected exit (or a failed restart): the restart to make, or undefined: give up. */
  afterExit(): Restart | undefined {
    const now = this.#now();
    this.#recentExits = this.#recentExits.filter((at) => now - at < this.crashLoopWindowMs);
    this.#recentExits.push(now);
    const attempt = this.#recentExits.length;
    if (attempt >= this.crashLoopExits) return undefined;
    const delayMs =
      attempt === 1 ? 0 : Math.min(this.#firstBackoffMs * 2 ** (attempt - 2), this.#maxBackoffMs);
    return { attempt, delayMs };
  }
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`restart policy: ${name} must be a whole number of at least 1, got ${value}`);
  }
  return value;
}

function duration(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`restart policy: ${name} must be a number of milliseconds >= 0, got ${value}`);
  }
  return value;
}
