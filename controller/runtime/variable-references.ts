// `$(VAR)` references (Kubernetes syntax) in a server's env values and arguments, resolved
// against that server's own variables only: its plain `env` and its declared secrets. A
// reference to anything else (the controller's DATABASE_URL, another server's token) is an
// error, not a lookup in the controller's environment. Like Kubernetes, a value is expanded
// once: a referenced variable contributes its value as written, references and all.
//
// A secret never goes on a command line: argv is readable by every local user (ps,
// /proc/<pid>/cmdline), an environment only by the process's owner. An argument that names
// a secret, directly or through a plain variable whose value names one, is refused; the
// server has the secret in its environment.

const REFERENCE = /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g;

export type ReferenceProblem =
  | { kind: 'undeclared'; name: string; where: string }
  | { kind: 'secret-argument'; name: string; argument: string };

export class VariableReferences {
  readonly problems: ReferenceProblem[] = [];
  private readonly values: Record<string, string>;
  /** Secrets, and plain variables whose value names a secret. */
  private readonly secretBearing: Set<string>;

  /** `values`: every variable of the server as written; `secrets`: which of them are secret. */
  constructor(values: Record<string, string>, secrets: Iterable<string>) {
    this.values = values;
    this.secretBearing = new Set(secrets);
    for (const [name, value] of Object.entries(values)) {
      if (namesIn(value).some((ref) => this.secretBearing.has(ref))) this.secretBearing.add(name);
    }
  }

  /** The server's environment, each value expanded. */
  environment(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.values)) {
      env[name] = this.expand(value, `the value of ${name}`);
    }
    return env;
  }

  /** Command-line arguments, expanded; one naming a secret is reported and left as written. */
  arguments(args: readonly string[]): string[] {
    return args.map((arg) => {
      const secret = namesIn(arg).find((name) => this.secretBearing.has(name));
      if (secret === undefined) return this.expand(arg, `the argument "${arg}"`);
      this.problems.push({ kind: 'secret-argument', name: secret, argument: arg });
      return arg;
    });
  }

  /** One line for `status` (unavailable), or undefined when every reference resolved. */
  reason(): string | undefined {
    const argument = this.problems.find((p) => p.kind === 'secret-argument');
    if (argument)
      return (
        `the argument "${argument.argument}" would put the secret ${argument.name} on the ` +
        'command line, which every local user can read (ps); the local runtime passes secrets ' +
        'only in the environment: make the server read it from there'
      );
    const undeclared = this.problems.filter((p) => p.kind === 'undeclared');
    if (undeclared.length === 0) return undefined;
    const names = [...new Set(undeclared.map((p) => p.name))].join(', ');
    return (
      `${undeclared[0]!.where} refers to $(${undeclared[0]!.name})` +
      (undeclared.length > 1 ? ` (and others: ${names})` : '') +
      ", which is not one of the server's variables (its env or declared secrets)"
    );
  }

  private expand(text: string, where: string): string {
    return text.replace(REFERENCE, (whole, name: string) => {
      const value = this.values[name];
      if (value !== undefined) return value;
      this.problems.push({ kind: 'undeclared', name, where });
      return whole;
    });
  }
}

function namesIn(text: string): string[] {
  return [...text.matchAll(REFERENCE)].map((match) => match[1]!);
}
