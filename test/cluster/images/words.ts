// Words the way Docker and /bin/sh read them: whitespace splits words outside quotes, quotes are
// removed, `\` escapes, and $NAME / ${NAME} / ${NAME:-default} / ${NAME:+alt} expand (never
// inside single quotes). Dockerfile instructions (ENV, COPY, WORKDIR...) use `dockerfileWords`;
// RUN lines use `shellCommands`, which also splits on `&&` and refuses every other shell
// operator, so a RUN step is either understood completely or rejected.

export interface Word {
  value: string;
  /** An unquoted `*`, `?` or `[` that the shell would expand as a pathname pattern. */
  glob: boolean;
}

export type Vars = ReadonlyMap<string, string>;

/** The words of a Dockerfile instruction's arguments (no shell operators there). */
export function dockerfileWords(text: string, vars: Vars): string[] {
  return lex(text, vars, false).map((token) => {
    if ('op' in token) throw new Error(`unexpected ${token.op}`);
    return token.value;
  });
}

/** One word, expanded, without splitting on whitespace (WORKDIR /a b is one path in Docker). */
export function dockerfileWord(text: string, vars: Vars): string {
  return dockerfileWords(text, vars).join(' ');
}

/**
 * A RUN line's commands (split on `&&`). Throws on any other operator: `;`, `||`, `|`, `&`,
 * redirections, subshells, command substitution, heredocs.
 */
export function shellCommands(text: string, vars: Vars): Word[][] {
  const commands: Word[][] = [[]];
  for (const token of lex(text, vars, true)) {
    if ('op' in token) {
      if (token.op !== '&&') throw new Error(`the shell operator ${token.op} is not supported`);
      commands.push([]);
    } else commands[commands.length - 1]!.push(token);
  }
  if (commands.some((command) => command.length === 0))
    throw new Error('an empty command around &&');
  return commands;
}

type Token = Word | { op: string };

const OPERATOR_CHARS = new Set([';', '|', '&', '<', '>', '(', ')', '`', '\n']);

function lex(text: string, vars: Vars, shell: boolean): Token[] {
  const tokens: Token[] = [];
  let current: Word | undefined;
  const word = (): Word => (current ??= { value: '', glob: false });
  const flush = () => {
    if (current) tokens.push(current);
    current = undefined;
  };
  let i = 0;
  const expand = (): string => {
    // text[i] === '$'
    const rest = text.slice(i + 1);
    if (shell && rest.startsWith('('))
      throw new Error('command substitution $(...) is not supported');
    const braced = /^\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}/.exec(rest);
    if (braced) {
      i += 1 + braced[0].length;
      const [, name, modifier, operand = ''] = braced;
      const value = vars.get(name!);
      const set = value !== undefined;
      const nonEmpty = set && value !== '';
      const sub = () => expandAll(operand, vars);
      switch (modifier) {
        case ':-':
          return nonEmpty ? value! : sub();
        case '-':
          return set ? value! : sub();
        case ':+':
          return nonEmpty ? sub() : '';
        case '+':
          return set ? sub() : '';
        default:
          return value ?? '';
      }
    }
    if (rest.startsWith('{'))
      throw new Error(`unsupported parameter expansion near "${text.slice(i, i + 20)}"`);
    const plain = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (plain) {
      i += 1 + plain[0].length;
      return vars.get(plain[0]) ?? '';
    }
    i += 1;
    return '$';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || (!shell && c === '\n')) {
      flush();
      i += 1;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      word().value += text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      const w = word();
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated double quote');
        const d = text[i]!;
        if (d === '"') {
          i += 1;
          break;
        }
        if (d === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) {
          w.value += text[i + 1];
          i += 2;
        } else if (d === '$') w.value += expand();
        else if (shell && d === '`') throw new Error('command substitution `...` is not supported');
        else {
          w.value += d;
          i += 1;
        }
      }
    } else if (c === '\\') {
      if (i + 1 < text.length) word().value += text[i + 1];
      i += 2;
    } else if (c === '$') {
      word().value += expand();
    } else if (shell && OPERATOR_CHARS.has(c)) {
      flush();
      const two = text.slice(i, i + 2);
      const op = ['&&', '||', '>>', '<<', '>&', '<&'].includes(two)
        ? two
        : c === '\n'
          ? 'newline'
          : c;
      tokens.push({ op });
      i += op.length === 2 ? 2 : 1;
    } else if (shell && c === '#' && !current) {
      break; // a comment runs to the end of the line
    } else {
      const w = word();
      if (shell && (c === '*' || c === '?' || c === '[')) w.glob = true;
      w.value += c;
      i += 1;
    }
  }
  flush();
  return tokens;
}

/** Expands variables in a default/alternative operand (no word splitting there). */
function expandAll(text: string, vars: Vars): string {
  return dockerfileWords(text, vars).join(' ');
}
