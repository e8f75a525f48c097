// Durations as people write them in config: "500ms", "30s", "5m", "1h", "1h30m".

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
