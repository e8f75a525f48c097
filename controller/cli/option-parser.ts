// commander calls an option's parser with the text (and a previous value); our parsers throw
// plain Errors with the whole explanation, which commander shows only as usage errors.
import { InvalidArgumentError } from 'commander';

export function parser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}

/** A count option's value: a whole number from 1 (to `max`, when there is one). */
export function parseCount(value: string, max: number = Infinity): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max) {
    throw new InvalidArgumentError(
      max === Infinity ? 'use a whole number above 0.' : `use a whole number from 1 to ${max}.`,
    );
  }
  return n;
}
