// "The live object has everything the manifest declared": every field of `expected` is in
// `actual` with the same value; arrays match element by element as a prefix (the apiserver and
// admission only append, e.g. the ServiceAccount token's volume and mount), objects may carry
// more fields (defaults such as terminationMessagePath or a projected volume's defaultMode).
export function isSubset(expected: unknown, actual: unknown): boolean {
  if (Array.isArray(expected))
    return (
      Array.isArray(actual) &&
      actual.length >= expected.length &&
      expected.every((item, i) => isSubset(item, actual[i]))
    );
  if (expected && typeof expected === 'object')
    return (
      !!actual &&
      typeof actual === 'object' &&
      Object.entries(expected).every(([key, value]) =>
        isSubset(value, (actual as Record<string, unknown>)[key]),
      )
    );
  return expected === actual;
}
