// The official format's arguments (positional and named, repeated or not) as the argv they
// stand for, each value resolved by the InputResolver (inputs.ts). Every key an argument can
// be set under is recorded in `known`, so inputs set for no argument are reported.
import type { InputResolver } from './inputs.ts';
import type { Argument } from './official-schema.ts';
import { joinPath } from './read-json.ts';

/** The resolved argv for one list of official arguments. */
export function resolveArguments(
  args: Argument[] | undefined,
  path: string,
  resolver: InputResolver,
  known: string[],
): string[] {
  const out: string[] = [];
  (args ?? []).forEach((arg, i) => {
    const argPath = joinPath(path, i);
    if (arg.type === 'positional') {
      const keys = arg.valueHint ? [arg.valueHint] : [];
      known.push(...keys);
      const values = resolver.resolve(arg, keys, argPath, { repeated: arg.isRepeated ?? false });
      if (values) out.push(...values);
    } else {
      const keys = [arg.name, arg.name.replace(/^-+/, '')];
      known.push(keys[1] as string);
      const values = resolver.resolve(arg, keys, argPath, { repeated: arg.isRepeated ?? false });
      for (const value of values ?? []) out.push(arg.name, value);
    }
  });
  return out;
}
