// What the kubelet API's /containerLogs answers: the CRI log of the container instance the
// request means (the current one, or with `previous` the one before), read with the kubelet's
// options — tailLines, sinceSeconds/sinceTime, timestamps, limitBytes — and with `follow` kept
// open while that instance runs. The choice of instance and the errors follow kubelet's
// validateContainerLogStatus (pkg/kubelet/kubelet_pods.go).
import type { IContainerStatus } from 'kubernetes-models/v1/ContainerStatus';
import fs from 'node:fs';
import path from 'node:path';
import { criLogPath } from './container-log.ts';

export interface LogSource {
  status: IContainerStatus;
  /** <logsDir>/<ns>_<pod>_<uid>/<container>: instance n wrote `<n>.log` (and `<n>.cri`). */
  dir: string;
}

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines: number | undefined;
  /** Entries older than this (ms since epoch) are left out. */
  sinceMs: number | undefined;
  limitBytes: number | undefined;
}

/** A request the kubelet refuses: its status and message, as kubelet's WriteError sends them. */
export class LogRequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

interface Entry {
  time: string;
  full: boolean;
  text: string;
}

const ENTRY = /^(\S+) (?:stdout|stderr) ([FP]) (.*)$/s;

function parseEntries(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const line of text.split('\n')) {
    const match = ENTRY.exec(line);
    if (match) entries.push({ time: match[1]!, full: match[2] === 'F', text: match[3]! });
  }
  return entries;
}

const number = (query: URLSearchParams, name: string): number | undefined => {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new LogRequestError(400, 'Unable to decode query.');
  return value;
};
const flag = (query: URLSearchParams, name: string): boolean => {
  const raw = query.get(name);
  if (raw === null || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new LogRequestError(400, 'Unable to decode query.');
};

/** The query of a containerLogs request, validated as kubelet's getContainerLogs does. */
export function logOptions(query: URLSearchParams): LogOptions {
  const tailLines = number(query, 'tailLines');
  const sinceSeconds = number(query, 'sinceSeconds');
  const limitBytes = number(query, 'limitBytes');
  const sinceTime = query.get('sinceTime');
  if (tailLines !== undefined && tailLines < 0)
    throw new LogRequestError(422, 'tailLines: Invalid value: must be greater than or equal to 0');
  if (sinceSeconds !== undefined && sinceSeconds < 1)
    throw new LogRequestError(422, 'sinceSeconds: Invalid value: must be greater than 0');
  if (limitBytes !== undefined && limitBytes < 1)
    throw new LogRequestError(422, 'limitBytes: Invalid value: must be greater than 0');
  let sinceMs = sinceSeconds !== undefined ? Date.now() - sinceSeconds * 1000 : undefined;
  if (sinceTime) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) throw new LogRequestError(400, 'Unable to decode query.');
  }
  return {
    follow: flag(query, 'follow'),
    previous: flag(query, 'previous'),
    timestamps: flag(query, 'timestamps'),
    tailLines,
    sinceMs,
    limitBytes,
  };
}

/** Which instance's log a request reads, and whether that instance still runs. */
function chooseInstance(
  source: LogSource,
  pod: string,
  previous: boolean,
): { file: string; running: boolean } {
  const { name, restartCount, state, lastState } = source.status;
  const file = (instance: number) => criLogPath(path.join(source.dir, `${instance}.log`));
  // While a container waits to restart, its last run is the latest instance (restartCount).
  const waiting = Boolean(state?.waiting);
  if (previous) {
    if (!lastState?.terminated)
      throw new LogRequestError(
        400,
        `previous terminated container "${name}" in pod "${pod}" not found`,
      );
    return { file: file(waiting ? restartCount : restartCount - 1), running: false };
  }
  if (waiting && !lastState?.terminated)
    throw new LogRequestError(
      400,
      `container "${name}" in pod "${pod}" is waiting to start: ${state?.waiting?.reason ?? 'ContainerCreating'}`,
    );
  return { file: file(restartCount), running: Boolean(state?.running) };
}

export interface LogWriter {
  write(chunk: string): void;
  /** The client went away: stop following. */
  readonly closed: boolean;
}

/**
 * Writes the chosen log to `out`. With follow, reads on as the file grows until the instance
 * is no longer running (asked again through `current`) and everything it wrote was sent.
 */
export async function streamLog(
  source: LogSource,
  current: () => LogSource | undefined,
  pod: string,
  options: LogOptions,
  out: LogWriter,
  pollMs = 100,
): Promise<void> {
  const { file, running } = chooseInstance(source, pod, options.previous);
  const instance = source.status.restartCount;
  let offset = 0;
  let carry = '';
  let budget = options.limitBytes ?? Infinity;
  const read = (): Entry[] => {
    let text: string;
    try {
      const fd = fs.openSync(file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const buffer = Buffer.alloc(Math.max(0, size - offset));
        fs.readSync(fd, buffer, 0, buffer.length, offset);
        offset = size;
        text = carry + buffer.toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return []; // not written yet
    }
    const cut = text.lastIndexOf('\n');
    carry = text.slice(cut + 1);
    return parseEntries(text.slice(0, cut + 1));
  };
  const send = (entries: Entry[]): void => {
    for (const entry of entries) {
      if (options.sinceMs !== undefined && Date.parse(entry.time) < options.sinceMs) continue;
      let text = `${options.timestamps ? `${entry.time} ` : ''}${entry.text}${entry.full ? '\n' : ''}`;
      if (Buffer.byteLength(text) > budget) text = Buffer.from(text).subarray(0, budget).toString();
      budget -= Buffer.byteLength(text);
      out.write(text);
      if (budget <= 0) return;
    }
  };

  send(tail(read(), options.tailLines));
  if (!options.follow || !running) return;
  const stillRunning = () => {
    const now = current();
    return Boolean(now?.status.state?.running) && now?.status.restartCount === instance;
  };
  while (!out.closed && budget > 0) {
    const wasRunning = stillRunning();
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    send(read());
    if (!wasRunning) return; // read once more after it stopped: its last lines are in
  }
}

/** The last `lines` full lines (a partial entry belongs to the line its F entry ends). */
function tail(entries: Entry[], lines: number | undefined): Entry[] {
  if (lines === undefined) return entries;
  let start = entries.length;
  let seen = 0;
  while (start > 0) {
    if (entries[start - 1]!.full) {
      if (seen === lines) break;
      seen++;
    }
    start--;
  }
  return entries.slice(start);
}
