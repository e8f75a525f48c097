// Human output of the operator CLI: aligned tables, short durations and ages.
import type { FleetEvent, RegistryStatusView, ServerStatus } from '../api/types.ts';
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
    s.state,
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
  const problems = servers
    .filter(
      (s) =>
        s.lastError !== null &&
        (s.state === 'failed' || s.state === 'unhealthy' || s.state === 'unavailable'),
    )
    .map((s) => `${s.slug}: ${oneLine(s.lastError ?? '')}\n`);
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
  ];
  const width = Math.max(...details.map(([key]) => key.length)) + 2;
  return `${row}\n${details.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}\n`).join('')}`;
}

export const EVENT_COLUMNS = ['TIME', 'SERVER', 'TYPE', 'DURATION', 'MESSAGE'];

export function formatEvents(events: FleetEvent[]): string {
  if (events.length === 0) return 'No events.\n';
  return formatTable(
    EVENT_COLUMNS,
    events.map((e) => [
      formatTime(e.at),
      e.server,
      e.type,
      e.durationMs === null ? '-' : formatDuration(e.durationMs),
      e.message === null ? '' : oneLine(e.message),
    ]),
  );
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
