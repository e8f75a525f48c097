// resource.Quantity parsing (enough for the downward API): decimal SI and binary suffixes and
// exponents, as a JavaScript number.
const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(text: string | number): number {
  if (typeof text === 'number') return text;
  const match = /^([+-]?[0-9.]+)([eE][+-]?[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$/.exec(
    text.trim(),
  );
  if (!match) throw new Error(`invalid quantity ${JSON.stringify(text)}`);
  const value = Number(match[1]) * (match[2] ? 10 ** Number(match[2].slice(1)) : 1);
  return value * SUFFIXES[match[3] ?? '']!;
}

/** containerResourceRuntimeValue: the value divided by the divisor, rounded up. */
export function divideQuantity(value: string | number, divisor: string | number = '1'): string {
  const d = parseQuantity(divisor);
  if (d === 0) throw new Error('divisor must be non-zero');
  // Float noise (0.1 * 1e3) must not round 100 up to 101.
  const quotient = parseQuantity(value) / d;
  return String(Math.ceil(Number(quotient.toPrecision(12))));
}
