// What `mcpfleet registry render --stack <name>` prints: the Kubernetes manifests the registry
// compiles to for one stack, without a Pulumi engine or cluster. Same builders as the program.
import { existsSync, readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { ServerSpec, WorkloadSpec } from '../registry/catalog/spec.ts';
import { parseConfig, type StackConfig } from './config.ts';
import { namespaceManifest, registryConfigMaps } from './manifests/platform.ts';
import { serverManifests } from './manifests/server.ts';
import { loadSpecs } from './registry.ts';

export const STACKS = ['local', 'dev', 'prod'] as const;

/** Reads `Pulumi.<stack>.yaml`; `secure:` values are never decrypted (render needs none). */
export function readStackFile(stack: string, dir = '.'): StackConfig {
  if (!(STACKS as readonly string[]).includes(stack)) {
    throw new Error(`unknown stack "${stack}": expected one of ${STACKS.join(', ')}`);
  }
  const file = `${dir}/Pulumi.${stack}.yaml`;
  if (!existsSync(file)) throw new Error(`${file} not found (run from the repository root)`);
  const document = parse(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> } | null;
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document?.config ?? {})) {
    if (!key.startsWith('mcpfleet:')) continue;
    raw[key.slice('mcpfleet:'.length)] = redactSecure(value);
  }
  return parseConfig(raw);
}

function redactSecure(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecure);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]![0] === 'secure') return '(secret)';
    return Object.fromEntries(entries.map(([k, v]) => [k, redactSecure(v)]));
  }
  return value;
}

/**
 * The Kubernetes objects a registry compiles to for one stack, in the order render prints them:
 * what `registry render` prints and what `registry diff` compares.
 */
export function renderObjects(config: StackConfig, specs: readonly ServerSpec[]): object[] {
  const objects: object[] = [
    namespaceManifest(config.namespace),
    ...registryConfigMaps(specs, config.namespace),
  ];
  for (const spec of specs.filter((s): s is WorkloadSpec => s.kind === 'workload')) {
    const { deployment, service, networkPolicy, persistentVolumeClaim } = serverManifests(spec, {
      namespace: config.namespace,
      images: config.images,
    });
    if (persistentVolumeClaim) objects.push(persistentVolumeClaim);
    objects.push(deployment, service, networkPolicy);
  }
  return objects;
}

/** The multi-document YAML for one stack. */
export async function renderStack(stack: string, registryDir?: string): Promise<string> {
  const config = readStackFile(stack);
  const specs = await loadSpecs(registryDir ?? config.registryDir);
  return renderObjects(config, specs)
    .map((object) => stringify(object, { lineWidth: 0 }))
    .join('---\n');
}
