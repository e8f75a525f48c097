// Byte sizes for limits on the command line: "4MiB", "512KiB", "1mb", "65536".

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match?.[2]?.toLowerCase() ?? '';
  if (!match || !(unit in UNITS)) {
    throw new Error(`"${text}" is not a size: use bytes or a unit, like 65536, 512KiB or 4MiB`);
  }
  const bytes = Math.floor(Number(match[1]) * UNITS[unit]!);
  if (bytes < 1) throw new Error(`"${text}" is too small: a size must be at least 1 byte`);
  return bytes;
}

/** The other way round, for messages: 16777216 → "16 MiB", 1536 → "1.5 KiB", 100 → "100 bytes". */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10} ${unit}`;
  }
  return `${bytes} bytes`;
}
