// Resolves the official format's inputs (arguments, environment variables, headers, URL
// variables) into concrete values. Where a value comes from, in order:
//   1. _meta["dev.mcpfleet/v1"].inputs[key]   (the operator's value for this deployment)
//   2. the input's fixed `value`, with {variables} substituted
//   3. the input's `default`
// Secret inputs never take a value from server.json: they are bound to a Kubernetes Secret
// under _meta["dev.mcpfleet/v1"].secrets[key] and appear as a $(ENV) reference, which
// Kubernetes (and the local runtime) expand at start.
import type { Input } from './official-schema.ts';
import type { PlatformSettings } from './platform-schema.ts';
import { PLATFORM_META_PATH as META_PATH } from './platform-schema.ts';
import type { PlatformRule } from './platform-rules.ts';
import { joinPath } from './read-json.ts';
import type { Problem, SecretRef } from './spec.ts';

type InputWithVariables = Input & { variables?: Record<string, Input> };

export class InputResolver {
  readonly secretEnv: SecretRef[] = [];
  private readonly usedInputs = new Set<string>();
  private readonly usedSecrets = new Set<string>();
  private readonly inputs: Record<string, string | string[]>;
  private readonly secrets: NonNullable<PlatformSettings['secrets']>;

  readonly file: string;
  readonly problems: Problem[];

  constructor(settings: PlatformSettings, file: string, problems: Problem[]) {
    this.file = file;
    this.problems = problems;
    this.inputs = { ...settings.inputs };
    this.secrets = settings.secrets ?? {};
  }

  /** Supplies a value the platform decides (e.g. the port), unless the operator set one. */
  provide(key: string, value: string): void {
    if (this.inputs[key] === undefined) {
      this.inputs[key] = value;
      this.usedInputs.add(key);
    }
  }

  private problem(path: string, message: string, rule: PlatformRule = 'inputs-filled'): void {
    this.problems.push({ file: this.file, path, rule, message });
  }

  /**
   * Values for one input, or undefined when it is omitted. `keys` are the names the
   * operator may use for it (valueHint, flag name, variable name), first one preferred.
   * `secretEnvName` is the environment variable a bound secret lands in.
   */
  resolve(
    input: InputWithVariables,
    keys: string[],
    path: string,
    options: { repeated?: boolean; secretEnvName?: string } = {},
  ): string[] | undefined {
    const key =
      keys.find((k) => this.inputs[k] !== undefined || this.secrets[k] !== undefined) ?? keys[0];
    if (input.isSecret) return this.resolveSecret(input, key, path, options.secretEnvName);

    if (key !== undefined && this.secrets[key] !== undefined) {
      this.usedSecrets.add(key);
      return [this.bindSecret(key, options.secretEnvName)];
    }
    if (key !== undefined && this.inputs[key] !== undefined) {
      this.usedInputs.add(key);
      const given = this.inputs[key] as string | string[];
      const values = Array.isArray(given) ? given : [given];
      if (values.length !== 1 && !options.repeated) {
        this.problem(
          joinPath(joinPath(META_PATH, 'inputs'), key),
          `"${key}" takes one value, got ${values.length}; give a string, not a list`,
        );
        return undefined;
      }
      if (input.choices?.length) {
        for (const value of values) {
          if (!input.choices.includes(value)) {
            this.problem(
              joinPath(joinPath(META_PATH, 'inputs'), key),
              `"${value}" is not one of the allowed values: ${input.choices.join(', ')}`,
            );
          }
        }
      }
      return values;
    }
    if (input.value !== undefined) return [this.substitute(input.value, input.variables, path)];
    if (input.default !== undefined) return [input.default];
    if (input.isRequired) {
      const hint = key ?? 'value';
      this.problem(
        path,
        `required input "${hint}" has no value: set ${joinPath(joinPath(META_PATH, 'inputs'), hint)}`,
      );
    }
    return undefined;
  }

  private resolveSecret(
    input: InputWithVariables,
    key: string | undefined,
    path: string,
    secretEnvName: string | undefined,
  ): string[] | undefined {
    if (input.value !== undefined && !/\{[A-Za-z_][A-Za-z0-9_]*\}/.test(input.value)) {
      this.problem(
        joinPath(path, 'value'),
        'a secret value is written inline in server.json; remove "value" and bind the secret: ' +
          `${joinPath(joinPath(META_PATH, 'secrets'), key ?? 'NAME')} = { "secret": "<k8s secret>", "key": "<key>" }`,
        'secrets-bound',
      );
      return undefined;
    }
    if (key !== undefined && this.inputs[key] !== undefined) {
      this.usedInputs.add(key);
      this.problem(
        joinPath(joinPath(META_PATH, 'inputs'), key),
        `"${key}" is a secret: never put its value in "inputs"; bind it under "secrets" to a Kubernetes Secret key`,
        'secrets-bound',
      );
      return undefined;
    }
    if (key !== undefined && this.secrets[key] !== undefined) {
      this.usedSecrets.add(key);
      const reference = this.bindSecret(key, secretEnvName);
      return [
        input.value !== undefined ? this.substitute(input.value, input.variables, path) : reference,
      ];
    }
    if (input.value !== undefined) return [this.substitute(input.value, input.variables, path)];
    if (input.isRequired) {
      this.problem(
        path,
        `secret "${key ?? 'value'}" is required but not bound: set ` +
          `${joinPath(joinPath(META_PATH, 'secrets'), key ?? 'NAME')} = { "secret": "<k8s secret>", "key": "<key>" }`,
        'secrets-bound',
      );
    }
    return undefined;
  }

  /** Records the SecretRef and returns the $(ENV) reference that stands for the value. */
  private bindSecret(key: string, secretEnvName: string | undefined): string {
    const binding = this.secrets[key] as { secret: string; key: string };
    const env =
      secretEnvName ?? `MCPFLEET_SECRET_${key.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`;
    if (!this.secretEnv.some((s) => s.env === env)) {
      this.secretEnv.push({ env, secretName: binding.secret, key: binding.key });
    }
    return `$(${env})`;
  }

  /** Replaces {name} with the variable's resolved value; unknown names stay as written. */
  substitute(template: string, variables: Record<string, Input> | undefined, path: string): string {
    return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
      const variable = variables?.[name];
      if (variable === undefined) {
        if (this.inputs[name] !== undefined && typeof this.inputs[name] === 'string') {
          this.usedInputs.add(name);
          return this.inputs[name] as string;
        }
        return whole;
      }
      const values = this.resolve(variable, [name], joinPath(joinPath(path, 'variables'), name));
      return values?.[0] ?? whole;
    });
  }

  /** After everything is resolved: inputs and secrets that matched nothing are typos. */
  reportUnused(known: string[]): void {
    const hint = known.length ? ` (known: ${[...new Set(known)].join(', ')})` : '';
    for (const key of Object.keys(this.inputs)) {
      if (!this.usedInputs.has(key)) {
        this.problem(
          joinPath(joinPath(META_PATH, 'inputs'), key),
          `"${key}" matches no argument, environment variable or URL variable of the deployed package${hint}`,
        );
      }
    }
    for (const key of Object.keys(this.secrets)) {
      if (!this.usedSecrets.has(key)) {
        this.problem(
          joinPath(joinPath(META_PATH, 'secrets'), key),
          `"${key}" matches no secret input of the deployed package${hint}`,
          'secrets-bound',
        );
      }
    }
  }
}
