// Durations as people write them in config ("500ms", "30s", "5m", "1h", "1h30m") and read them
// in messages and tables ("850ms", "1.2s", "5m").

export const DURATION_PATTERN = /^(\d+(ms|s|m|h))+$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration string; throws a readable Error when it is not one. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!DURATION_PATTERN.test(trimmed)) {
    throw new Error(
      `"${text}" is not a duration: use a number with a unit, like 500ms, 30s, 5m or 1h`,
    );
  }
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  return total;
}

/** 850 → "850ms", 1234 → "1.2s", 95000 → "1m35s", 300000 → "5m", 7200000 → "2h". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${seconds % 60 ? `${seconds % 60}s` : ''}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${minutes % 60 ? `${minutes % 60}m` : ''}`;
  return `${Math.floor(hours / 24)}d`;
}
