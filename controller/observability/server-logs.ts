// The recent log lines of each server, in memory, for `mcpfleet logs` (GET
// /api/v1/servers/<slug>/logs). Fed by the logger itself (createLogger's `serverLogs`): every
// JSON line that carries a `server` binding — its processes' stdout/stderr, which the runtime
// logs through a child logger bound to { server, replica }, and the controller's own lines
// about it (wake, sleep, health...) — lands in that server's ring of the last N lines.
// Per controller process: a line another controller replica logged is in that replica's.
import { pino } from 'pino';
import type { ServerLogLine } from '../api/types.ts';

export const DEFAULT_LINES_PER_SERVER = 1000;
const DEFAULT_MAX_SERVERS = 1000;

/** Keys of a pino record that a ServerLogLine says otherwise (or that say nothing here). */
const RECORD_KEYS = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'service',
  'component',
  'server',
  'replica',
  'msg',
  'stdout',
  'stderr',
]);

export type ServerLogListener = (line: ServerLogLine) => void;

export interface ServerLogsOptions {
  /** Lines kept per server, the oldest dropped first; default 1000. */
  linesPerServer?: number;
  /** Servers kept, the least recently written dropped first; default 1000. */
  maxServers?: number;
}

/** A fixed-size ring: the last `capacity` items pushed. */
class Ring<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  #start = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  push(item: T): void {
    if (this.#items.length < this.#capacity) {
      this.#items.push(item);
      return;
    }
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.#capacity;
  }

  /** The last `n` items, oldest first. */
  last(n: number): T[] {
    const ordered = [...this.#items.slice(this.#start), ...this.#items.slice(0, this.#start)];
    return n >= ordered.length ? ordered : ordered.slice(ordered.length - n);
  }
}

export class ServerLogs {
  readonly linesPerServer: number;
  readonly #maxServers: number;
  /** In order of last write: the first is the one to drop. */
  readonly #rings = new Map<string, Ring<ServerLogLine>>();
  readonly #listeners = new Map<string, Set<ServerLogListener>>();
  #accept: (server: string) => boolean = () => true;

  constructor(options: ServerLogsOptions = {}) {
    this.linesPerServer = options.linesPerServer ?? DEFAULT_LINES_PER_SERVER;
    this.#maxServers = options.maxServers ?? DEFAULT_MAX_SERVERS;
  }

  /**
   * Keeps lines only of servers `accept` says exist (the fleet's slugs), so a line about a
   * slug nobody serves (a request for /servers/nope/mcp) takes no room.
   */
  only(accept: (server: string) => boolean): void {
    this.#accept = accept;
  }

  /** A pino destination: one serialized record (a JSON line) at a time. */
  write(record: string): void {
    // Cheap test first: most controller lines are about no server.
    if (!record.includes('"server":')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(record);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const fields = parsed as Record<string, unknown>;
    if (typeof fields.server !== 'string') return;
    this.add(fields.server, toLogLine(fields));
  }

  add(server: string, line: ServerLogLine): void {
    if (!this.#accept(server)) return;
    let ring = this.#rings.get(server);
    if (ring) {
      this.#rings.delete(server); // re-inserted below: the most recently written is last
    } else {
      ring = new Ring(this.linesPerServer);
      if (this.#rings.size >= this.#maxServers) {
        const oldest = this.#rings.keys().next().value;
        if (oldest !== undefined) this.#rings.delete(oldest);
      }
    }
    this.#rings.set(server, ring);
    ring.push(line);
    // A listener must not log about this server: its line would come straight back here.
    for (const listener of this.#listeners.get(server) ?? []) listener(line);
  }

  /** The last `lines` lines of `server`, oldest first. */
  tail(server: string, lines: number = this.linesPerServer): ServerLogLine[] {
    return this.#rings.get(server)?.last(lines) ?? [];
  }

  /** Calls `listener` with each new line of `server` until the returned function is called. */
  follow(server: string, listener: ServerLogListener): () => void {
    let listeners = this.#listeners.get(server);
    if (!listeners) this.#listeners.set(server, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(server) === listeners) {
        this.#listeners.delete(server);
      }
    };
  }
}

function toLogLine(record: Record<string, unknown>): ServerLogLine {
  const output =
    typeof record.stderr === 'string'
      ? ({ source: 'stderr', text: record.stderr } as const)
      : typeof record.stdout === 'string'
        ? ({ source: 'stdout', text: record.stdout } as const)
        : undefined;
  const fields: Record<string, unknown> = {};
  if (!output) {
    for (const [key, value] of Object.entries(record)) {
      if (RECORD_KEYS.has(key)) continue;
      // A serialized error keeps its message; its stack is for the full log.
      fields[key] = isErrorRecord(value) ? value.message : value;
    }
  }
  return {
    time: new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString(),
    level: (typeof record.level === 'number' && pino.levels.labels[record.level]) || 'info',
    source: output?.source ?? 'controller',
    replica: typeof record.replica === 'string' ? record.replica : null,
    message: output?.text ?? (typeof record.msg === 'string' ? record.msg : ''),
    fields,
  };
}

function isErrorRecord(value: unknown): value is { message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string' &&
    ('stack' in value || 'type' in value)
  );
}
