// Human output of the operator CLI: aligned tables, short durations and ages.
import type { FleetEvent, RegistryStatusView, ServerLogLine, ServerStatus } from '../api/types.ts';
import { formatDuration } from '../../registry/catalog/duration.ts';

export { formatDuration };

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** How long ago an ISO time was, relative to now: "12s ago"; "-" when there is none. */
export function formatAge(iso: string | null, now: number = Date.now()): string {
  if (iso === null) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const ms = Math.max(0, now - at);
  return ms < 1000 ? 'just now' : `${formatDuration(ms).replace(/\.\d/, '')} ago`;
}

/** UTC, second precision: sortable and the same for every reader. */
export function formatTime(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${at.toISOString().slice(0, 19)}Z`;
}

export const SERVER_COLUMNS = [
  'SLUG',
  'STATE',
  'REPLICAS',
  'SESSIONS',
  'IN-FLIGHT',
  'LAST-ACTIVITY',
  'LAST-WAKE',
];

/** A server's cells under SERVER_COLUMNS (the list and the detail view share them). */
function serverRow(s: ServerStatus, now: number): string[] {
  return [
    s.slug,
    s.healthMark === null ? s.state : `${s.state} (unhealthy)`,
    String(s.replicas),
    String(s.sessions),
    String(s.inFlight),
    formatAge(s.lastActivity, now),
    s.lastWakeDurationMs === null ? '-' : formatDuration(s.lastWakeDurationMs),
  ];
}

export function formatServers(servers: ServerStatus[], now: number = Date.now()): string {
  if (servers.length === 0) return 'No servers are registered.\n';
  const table = formatTable(
    SERVER_COLUMNS,
    servers.map((s) => serverRow(s, now)),
  );
  // A failed or unhealthy server's reason is what the operator needs next.
  const problems = servers.flatMap((s) => {
    const reasons =
      s.lastError !== null &&
      (s.state === 'failed' || s.state === 'unhealthy' || s.state === 'unavailable')
        ? [s.lastError]
        : [];
    if (s.healthMark !== null) reasons.push(s.healthMark);
    if (s.exposure) reasons.push(s.exposure);
    return reasons.map((reason) => `${s.slug}: ${oneLine(reason)}\n`);
  });
  return problems.length > 0 ? `${table}\n${problems.join('')}` : table;
}

/** One server: the table row, then what does not fit a row. */
export function formatServerDetail(server: ServerStatus, now: number = Date.now()): string {
  const row = formatTable(SERVER_COLUMNS, [serverRow(server, now)]);
  const details: [string, string][] = [
    ['name', server.name],
    ['title', server.title],
    ['kind', server.kind],
    ['endpoint', server.endpoint],
    ['idle timeout', formatDuration(server.idleTimeoutMs)],
    ['replicas', `min ${server.minReplicas}, max ${server.maxReplicas}`],
    ['last error', server.lastError === null ? '-' : oneLine(server.lastError)],
    ['unhealthy', server.healthMark === null ? '-' : oneLine(server.healthMark)],
  ];
  if (server.exposure) details.push(['exposure', oneLine(server.exposure)]);
  const width = Math.max(...details.map(([key]) => key.length)) + 2;
  return `${row}\n${details.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}\n`).join('')}`;
}

export const EVENT_COLUMNS = ['TIME', 'SERVER', 'TYPE', 'DURATION', 'MESSAGE'];

function eventCells(e: FleetEvent): string[] {
  return [
    formatTime(e.at),
    e.server,
    e.type,
    e.durationMs === null ? '-' : formatDuration(e.durationMs),
    e.message === null ? '' : oneLine(e.message),
  ];
}

export function formatEvents(events: FleetEvent[]): string {
  if (events.length === 0) return 'No events.\n';
  return formatTable(EVENT_COLUMNS, events.map(eventCells));
}

/**
 * `events --follow` prints rows as they come, so the widths cannot wait for the widest cell:
 * the time's, the longest event type's, and room for most slugs (a longer one pushes its row).
 */
const FOLLOWED_EVENT_WIDTHS = [20, 24, 15, 8];

function followedRow(cells: string[]): string {
  return (
    cells
      .map((cell, i) => cell.padEnd(FOLLOWED_EVENT_WIDTHS[i] ?? 0))
      .join('  ')
      .trimEnd() + '\n'
  );
}

/** The header line of `events --follow`. */
export function formatFollowedEventsHeader(): string {
  return followedRow(EVENT_COLUMNS);
}

/** One row of `events --follow`, in the columns of its header. */
export function formatFollowedEvent(event: FleetEvent): string {
  return followedRow(eventCells(event));
}

/**
 * One line of `mcpfleet logs`: the time (UTC, milliseconds), where it came from — the
 * server's stdout/stderr, or the level of a controller line — and the text; a controller
 * line's fields follow as key=value.
 */
export function formatLogLine(line: ServerLogLine): string {
  const from = line.source === 'controller' ? line.level : line.source;
  const fields = Object.entries(line.fields)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => ` ${key}=${formatField(value)}`)
    .join('');
  return `${line.time}  ${from.padEnd(6)}  ${line.message}${fields}\n`;
}

function formatField(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}

/** Table cells are one line: a multi-line error would break the alignment. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Below the server table: nothing while the registry is as loaded, else what happened to its
 * last change — a rejected one names every problem (the previous servers are still served).
 */
export function formatRegistry(registry: RegistryStatusView, now: number = Date.now()): string {
  const change = registry.lastChange;
  if (!change) return '';
  const when = formatAge(change.at, now);
  if (change.outcome === 'applied')
    return `\nregistry ${registry.location}: ${registry.servers} servers, last change applied ${when}\n`;
  return (
    `\nregistry ${registry.location}: the last change (${when}) was rejected; still serving the ` +
    `previous ${registry.servers} servers. Fix:\n` +
    change.problems.map((p) => `  ${p}\n`).join('')
  );
}
