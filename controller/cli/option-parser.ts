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
