// The Kubernetes objects the Pulumi program declares for the local stack (an existing cluster),
// exactly as it emits them: infra/index.ts runs under Pulumi's mocks (test/infra/harness.ts) with
// the real Pulumi.local.yaml,
// and each Kubernetes resource's inputs are the object the provider would apply. The bake plans
// (docker-build Image resources) come along: they say how the server images are built.
//
// What differs from Pulumi.local.yaml here, and why:
// - mcpfleet:namespace: unique per run, so runs never share objects.
// - secure values: the harness's dummies (there is no passphrase here); the database and Redis
//   passwords are the mocked RandomPassword results.
// - mcpfleet:images.packages "bake" (+ a repository and a builder): the prod way, so server pods start without
//   the npm registry, which pods cannot reach here (install-on-start would `npx` a download).
//   Deployments run the baked image by the digest the (mocked) push returned: `<tag>@sha256:…`.
// - mcpfleet:registryDir: a copy of registry/servers with a short idle timeout for `everything`
//   (see test-registry.ts), so the test sees it sleep.
import { runStack, stackConfig } from '../../infra/harness.ts';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** An image the program bakes: its tag, inline Dockerfile and build context. */
export interface Bake {
  image: string;
  dockerfile: string;
  context: string;
}

export interface CollectedStack {
  objects: K8sObject[];
  bakes: Bake[];
  /** The Pulumi resource name of each object, by `Kind namespace/name`. */
  resourceNames: Map<string, string>;
}

export const BAKE_REPOSITORY = 'ghcr.io/acme/mcpfleet-servers';
/** The stack for an existing cluster, as this test's cluster is. */
export const STACK = 'local';

/** An image reference without its digest: the tag a bake plan names. */
export const withoutDigest = (ref: string): string => ref.replace(/@sha256:[0-9a-f]{64}$/, '');

export const objectKey = (o: K8sObject): string =>
  `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

export async function collectDevStack(options: {
  namespace: string;
  registryDir: string;
}): Promise<CollectedStack> {
  const { config, secretKeys } = stackConfig(STACK);
  const images = JSON.parse(config['mcpfleet:images']!) as Record<string, unknown>;
  const run = await runStack({
    stack: STACK,
    secretKeys,
    config: {
      ...config,
      'mcpfleet:namespace': options.namespace,
      'mcpfleet:registryDir': options.registryDir,
      'mcpfleet:images': JSON.stringify({
        ...images,
        packages: 'bake',
        repository: BAKE_REPOSITORY,
        // Required to bake two platforms; the test materializes the bake plans itself.
        builder: 'mcpfleet',
      }),
    },
  });
  if (run.warnings.length > 0) throw new Error(`the program warned:\n${run.warnings.join('\n')}`);
  const objects: K8sObject[] = [];
  const resourceNames = new Map<string, string>();
  const bakes: Bake[] = [];
  for (const resource of run.resources) {
    if (resource.type === 'docker-build:index:Image') {
      const inputs = resource.inputs as {
        tags: string[];
        dockerfile: { inline: string };
        context: { location: string };
      };
      bakes.push({
        image: inputs.tags[0]!,
        dockerfile: inputs.dockerfile.inline,
        context: inputs.context.location,
      });
      continue;
    }
    if (!resource.type.startsWith('kubernetes:')) continue;
    const object = resource.inputs as unknown as K8sObject;
    if (!object.apiVersion || !object.kind || !object.metadata?.name)
      throw new Error(`${resource.urn}: inputs are not a Kubernetes object`);
    objects.push(object);
    resourceNames.set(objectKey(object), resource.name);
  }
  return { objects, bakes, resourceNames };
}
