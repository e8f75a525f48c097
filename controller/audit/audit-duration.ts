// Durations of the audit log's settings and filters, which run to days: "30d" (retention),
// "7d" or "90m" (since). Days, then anything parseDuration takes (500ms, 30s, 5m, 1h, 1h30m).
import { parseDuration } from '../../registry/catalog/duration.ts';

const DAY_MS = 86_400_000;
const DAYS = /^(\d+)d$/;

/** Milliseconds; throws a readable Error naming the forms it takes. */
export function parseDays(text: string): number {
  const days = DAYS.exec(text.trim());
  if (days) return Number(days[1]) * DAY_MS;
  try {
    return parseDuration(text);
  } catch {
    throw new Error(`"${text}" is not a duration: use a number with a unit, like 30d, 12h or 30m`);
  }
}

/** --audit-retention's value: a duration, or 0 to keep every record. */
export function parseRetention(text: string): number {
  return text.trim() === '0' ? 0 : parseDays(text);
}
