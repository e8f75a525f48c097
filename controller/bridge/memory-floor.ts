// A ceiling on processes by memory: no new MCP server process while the memory left is below
// a floor. A process count alone does not bound memory (80 sessions of one server took 4.7 GB
// in 30 s), and running out takes everything with it — the controller, every other session.
// "Left" is the smaller of what the machine has available (os.freemem: MemAvailable on Linux)
// and what this process may still use under its cgroup's memory.max (process.availableMemory,
// where a container limit applies). The floor is MCPFLEET_MIN_FREE_MEMORY (e.g. "512MiB"),
// default 256 MiB; "0" turns the ceiling off. It is read at each start of a process (rare
// next to requests), so an operator can change it for a running controller's environment
// only by restarting it, but a test can change it between two sessions.
import { freemem } from 'node:os';
import { formatByteSize, parseByteSize } from '../gateway/byte-size.ts';
import type { Logger } from '../observability/log.ts';

export const MIN_FREE_MEMORY_VARIABLE = 'MCPFLEET_MIN_FREE_MEMORY';
export const DEFAULT_MIN_FREE_MEMORY_BYTES = 256 * 1024 ** 2;
/** A refusal is logged at most this often (a burst of initializes logs one line). */
const LOG_EVERY_MS = 10_000;

/** The floor from the environment; a malformed value is an error naming the variable. */
export function minFreeMemoryFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[MIN_FREE_MEMORY_VARIABLE]?.trim();
  if (!text) return DEFAULT_MIN_FREE_MEMORY_BYTES;
  if (text === '0') return 0;
  try {
    return parseByteSize(text);
  } catch (err) {
    throw new Error(`${MIN_FREE_MEMORY_VARIABLE}: ${(err as Error).message}`, { cause: err });
  }
}

/** Bytes this process could still get: the machine's available memory, within its cgroup. */
export function availableMemoryBytes(): number {
  const machine = freemem();
  const constrained = process.availableMemory?.() ?? machine;
  return Math.min(machine, constrained);
}

export class MemoryFloor {
  private readonly floor: () => number;
  private readonly logger: Logger;
  private readonly available: () => number;
  private loggedAt = 0;

  /** `floorBytes` undefined: the environment's (checked now, so a bad value fails early). */
  constructor(floorBytes: number | undefined, logger: Logger, available = availableMemoryBytes) {
    minFreeMemoryFromEnvironment();
    this.floor = floorBytes === undefined ? () => minFreeMemoryFromEnvironment() : () => floorBytes;
    this.logger = logger;
    this.available = available;
  }

  /** Why no process may start now, or undefined when one may. */
  refusal(): string | undefined {
    const floor = this.floor();
    if (floor === 0) return undefined;
    const left = this.available();
    if (left >= floor) return undefined;
    const reason = `not enough free memory for another MCP server process: ${formatByteSize(left)} left, below the floor of ${formatByteSize(floor)} (${MIN_FREE_MEMORY_VARIABLE})`;
    const now = Date.now();
    if (now - this.loggedAt >= LOG_EVERY_MS) {
      this.loggedAt = now;
      this.logger.warn({ availableBytes: left, floorBytes: floor }, reason);
    }
    return reason;
  }
}
