// The `_meta["dev.mcpfleet/v1"]` skeleton `registry add` writes next to an imported
// server.json: every secret the deployed package or remote reads, bound to a placeholder
// Kubernetes Secret, and every input that has no value, given a placeholder value. The check
// refuses the placeholders until a person replaces them (catalog/placeholder.ts).
//
// It reads the document as the registry served it, unvalidated, and walks it the way the
// compiler resolves inputs (catalog/inputs.ts): only the package that deploys (packages[0]
// unless settings pick another) or, without packages, the remote; a bound secret or given
// input for anything else would be refused as matching nothing.
import { placeholder } from '../catalog/placeholder.ts';
import { PLATFORM_META_KEY } from '../catalog/platform-schema.ts';
import { joinPath } from '../catalog/read-json.ts';

/** A secret to bind or an input to fill, as a person should read it. */
export interface Need {
  /** Its key under `secrets` / `inputs`. */
  key: string;
  kind: 'secret' | 'input';
  required: boolean;
  /** Where server.json declares it, e.g. packages[0].environmentVariables[0]. */
  declaredAt: string;
  /** Its description, format and choices in one line. */
  about: string;
  repeated: boolean;
}

type Json = Record<string, unknown>;

const TEMPLATE_VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const MAX_ABOUT = 100;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function objectsAt(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** Description, format and choices of an input, shortened to one line. */
function aboutOf(input: Json): string {
  const parts: string[] = [];
  if (typeof input.description === 'string') {
    const line = input.description.replace(/\s+/g, ' ').trim();
    parts.push(line.length > MAX_ABOUT ? `${line.slice(0, MAX_ABOUT - 1)}…` : line);
  }
  if (typeof input.format === 'string' && input.format !== 'string') {
    parts.push(`(${input.format})`);
  }
  if (Array.isArray(input.choices) && input.choices.length > 0) {
    parts.push(`(one of: ${input.choices.join(', ')})`);
  }
  return parts.join(' ');
}

class NeedCollector {
  readonly needs: Need[] = [];
  /** Keys the platform fills itself (the port of an HTTP package). */
  readonly #provided: Set<string>;

  constructor(provided: Iterable<string>) {
    this.#provided = new Set(provided);
  }

  #add(need: Need): void {
    if (this.#provided.has(need.key) || this.needs.some((n) => n.key === need.key)) return;
    this.needs.push(need);
  }

  /**
   * One input under `key`. `mustHaveValue`: without a value the result is broken even when
   * the input is optional (a {variable} left in a URL or argument).
   */
  visit(input: Json, key: string, declaredAt: string, mustHaveValue = false): void {
    const repeated = input.isRepeated === true;
    const required = input.isRequired === true || mustHaveValue;
    if (typeof input.value === 'string') {
      // A fixed value needs nothing; a template needs its {variables}.
      this.visitTemplate(input.value, input.variables, declaredAt);
      return;
    }
    if (input.isSecret === true) {
      this.#add({ key, kind: 'secret', required, declaredAt, about: aboutOf(input), repeated });
    } else if (input.default === undefined) {
      this.#add({ key, kind: 'input', required, declaredAt, about: aboutOf(input), repeated });
    }
  }

  /** The declared {variables} of a template; an undeclared one has only `inputs` to fill it. */
  visitTemplate(
    template: string,
    variables: unknown,
    declaredAt: string,
    undeclared = false,
  ): void {
    for (const [, name] of template.matchAll(TEMPLATE_VARIABLE)) {
      const variable = isObject(variables) ? variables[name as string] : undefined;
      const at = joinPath(joinPath(declaredAt, 'variables'), name as string);
      if (isObject(variable)) this.visit(variable, name as string, at, true);
      else if (undeclared) {
        this.#add({
          key: name as string,
          kind: 'input',
          required: true,
          declaredAt,
          about: `the {${name}} in the URL`,
          repeated: false,
        });
      }
    }
  }

  visitArguments(args: unknown, declaredAt: string): void {
    objectsAt(args).forEach((arg, i) => {
      const at = joinPath(declaredAt, i);
      // The compiler looks a named argument up without its dashes too; that form reads best.
      const key =
        arg.type === 'named' && typeof arg.name === 'string'
          ? arg.name.replace(/^-+/, '')
          : typeof arg.valueHint === 'string'
            ? arg.valueHint
            : undefined;
      // A positional argument without valueHint has no key: nothing in _meta can fill it.
      if (key) this.visit(arg, key, at);
    });
  }

  visitKeyValues(entries: unknown, declaredAt: string): void {
    objectsAt(entries).forEach((entry, i) => {
      if (typeof entry.name === 'string') this.visit(entry, entry.name, joinPath(declaredAt, i));
    });
  }
}

/** The index of the package that deploys, as compile.ts picks it. */
function deployedPackageIndex(packages: Json[], settings: Json): number {
  let ref = settings.package;
  if (isObject(ref)) ref = ref.amd64 ?? ref.arm64;
  if (typeof ref === 'number') return ref;
  if (typeof ref === 'string') return packages.findIndex((p) => p.identifier === ref);
  return 0;
}

/** The {variable} in an HTTP package's `http://host:{port}/…` URL, which the platform fills. */
function portVariable(pkg: Json): string[] {
  const url = isObject(pkg.transport) ? pkg.transport.url : undefined;
  const match = typeof url === 'string' ? /^https?:\/\/[^/:]+:\{([A-Za-z_]\w*)\}/.exec(url) : null;
  return match ? [match[1] as string] : [];
}

/** What the server as served needs a person to decide, given the settings it already has. */
export function needsOf(document: Json, settings: Json = {}): Need[] {
  const packages = objectsAt(document.packages);
  if (packages.length > 0) {
    const index = deployedPackageIndex(packages, settings);
    const pkg = packages[index];
    if (!pkg) return [];
    const collector = new NeedCollector(portVariable(pkg));
    const at = joinPath('packages', index);
    collector.visitArguments(pkg.runtimeArguments, joinPath(at, 'runtimeArguments'));
    collector.visitArguments(pkg.packageArguments, joinPath(at, 'packageArguments'));
    collector.visitKeyValues(pkg.environmentVariables, joinPath(at, 'environmentVariables'));
    return collector.needs;
  }
  const index = typeof settings.remote === 'number' ? settings.remote : 0;
  const remote = objectsAt(document.remotes)[index];
  if (!remote) return [];
  const collector = new NeedCollector([]);
  const at = joinPath('remotes', index);
  if (typeof remote.url === 'string') {
    collector.visitTemplate(remote.url, remote.variables, joinPath(at, 'url'), true);
  }
  collector.visitKeyValues(remote.headers, joinPath(at, 'headers'));
  return collector.needs;
}

/** The placeholders of one need: a Secret binding, or a value (a list for a repeated one). */
function placeholderFor(need: Need): unknown {
  if (need.kind === 'secret') {
    return {
      secret: placeholder(
        need.required
          ? 'Kubernetes Secret name'
          : 'Kubernetes Secret name, or delete this optional secret',
      ),
      key: placeholder('key in that Secret'),
    };
  }
  const value = placeholder(need.about || need.key);
  return need.repeated ? [value] : value;
}

export interface Skeleton {
  /** The settings to write: `existing` plus a placeholder for each need it does not cover. */
  settings: Json;
  /** The needs that got a placeholder. */
  placeholders: Need[];
  /** Optional inputs with no value, left unset: worth knowing, not worth a placeholder. */
  optional: Need[];
}

/**
 * Settings for the imported document. `existing` (the settings of the file being replaced,
 * or those the registry itself served) are kept as they are; only what they leave open gets
 * a placeholder.
 */
export function buildSkeleton(document: Json, existing: Json = {}): Skeleton {
  const secrets: Json = isObject(existing.secrets) ? { ...existing.secrets } : {};
  const inputs: Json = isObject(existing.inputs) ? { ...existing.inputs } : {};
  const placeholders: Need[] = [];
  const optional: Need[] = [];
  for (const need of needsOf(document, existing)) {
    if (secrets[need.key] !== undefined || inputs[need.key] !== undefined) continue;
    if (need.kind === 'input' && !need.required) {
      optional.push(need);
      continue;
    }
    (need.kind === 'secret' ? secrets : inputs)[need.key] = placeholderFor(need);
    placeholders.push(need);
  }
  const settings: Json = { ...existing };
  if (Object.keys(secrets).length > 0) settings.secrets = secrets;
  if (Object.keys(inputs).length > 0) settings.inputs = inputs;
  return { settings, placeholders, optional };
}

/** The platform settings a document already carries (a private registry may serve them). */
export function settingsOf(document: Json): Json | undefined {
  const meta = document._meta;
  const settings = isObject(meta) ? meta[PLATFORM_META_KEY] : undefined;
  return isObject(settings) ? settings : undefined;
}

/** The document with `settings` under `_meta["dev.mcpfleet/v1"]`, everything else as it was. */
export function withSettings(document: Json, settings: Json): Json {
  const meta = isObject(document._meta) ? document._meta : {};
  return { ...document, _meta: { ...meta, [PLATFORM_META_KEY]: settings } };
}
