// Runs the real Pulumi program under Pulumi's mocks (the engine boundary) and records every
// resource registration, including the resource options the engine would receive (ignoreChanges,
// parent, dependencies, retainOnDelete) by observing the mock monitor's registerResource requests.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import type { StackConfig } from '../../infra/config.ts';

export interface Recorded {
  type: string;
  name: string;
  urn: string;
  inputs: Record<string, unknown>;
  ignoreChanges: string[];
  parentUrn: string;
  dependencies: string[];
  /** The resource option: the engine leaves the object in place when the resource is deleted. */
  retainOnDelete: boolean;
  /** Paths of inputs that arrived marked secret (e.g. `stringData.password`). */
  secretPaths: string[];
}

/** Pulumi's wire marker for a secret value. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';

/** Replaces secret-wrapped values by their plain value, collecting where they were. */
function unwrapSecrets(value: unknown, path: string, found: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, found));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (SECRET_SIG in record && 'value' in record) {
      found.push(path);
      return unwrapSecrets(record.value, path, found);
    }
    return Object.fromEntries(
      Object.entries(record).map(([k, v]) => [
        k,
        unwrapSecrets(v, path ? `${path}.${k}` : k, found),
      ]),
    );
  }
  return value;
}

/** A provider function the program called, with its arguments. */
export interface Invoked {
  token: string;
  inputs: Record<string, unknown>;
}

export interface StackRun {
  resources: Recorded[];
  invokes: Invoked[];
  /** URLs the program fetched (answered by FETCHABLE, never the network). */
  fetched: string[];
  outputs: Record<string, unknown>;
  /** Stack outputs the engine would store encrypted. */
  secretOutputs: string[];
  warnings: string[];
}

/** Reads Pulumi.<stack>.yaml as the engine would hand it to the program; secure values become dummies. */
export function stackConfig(stack: string): {
  config: Record<string, string>;
  secretKeys: string[];
  secrets: string[];
} {
  const document = parse(readFileSync(`Pulumi.${stack}.yaml`, 'utf8')) as {
    config: Record<string, unknown>;
  };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const secrets: string[] = [];
  for (const [key, value] of Object.entries(document.config)) {
    let secret = false;
    const replace = (node: unknown, path: string): unknown => {
      if (node && typeof node === 'object' && !Array.isArray(node)) {
        const entries = Object.entries(node);
        if (entries.length === 1 && entries[0]![0] === 'secure') {
          secret = true;
          const dummy = `dummy-secret-${path.replace(/[^A-Za-z0-9]/g, '-')}`;
          secrets.push(dummy);
          return dummy;
        }
        return Object.fromEntries(entries.map(([k, v]) => [k, replace(v, `${path}.${k}`)]));
      }
      if (Array.isArray(node)) return node.map((v, i) => replace(v, `${path}.${i}`));
      return node;
    };
    const plain = replace(value, key);
    config[key] = typeof plain === 'string' ? plain : JSON.stringify(plain);
    if (secret) secretKeys.push(key);
  }
  return { config, secretKeys, secrets };
}

/** Outputs a real provider would compute, so the program's apply() chains see realistic values. */
function computedState(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  switch (type) {
    case 'aws:eks/cluster:Cluster':
      return {
        endpoint: `https://${name}.gr7.eu-west-1.eks.amazonaws.com`,
        arn: `arn:aws:eks:eu-west-1:123456789012:cluster/${String(inputs.name)}`,
        certificateAuthority: { data: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t' },
        vpcConfig: { ...(inputs.vpcConfig as object), clusterSecurityGroupId: 'sg-0eksclustersg' },
      };
    case 'aws:rds/instance:Instance':
      return {
        address: `${name}.c9akciq32.eu-west-1.rds.amazonaws.com`,
        endpoint: `${name}.c9akciq32.eu-west-1.rds.amazonaws.com:5432`,
      };
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      return { primaryEndpointAddress: `master.${name}.abc123.euw1.cache.amazonaws.com` };
    case 'random:index/randomPassword:RandomPassword':
      return { result: `mock-generated-password-${name}` };
    case 'random:index/randomId:RandomId':
      return { hex: createHash('sha256').update(name).digest('hex').slice(0, 8) };
    case 'aws:iam/role:Role':
      return { arn: `arn:aws:iam::123456789012:role/${name}`, name };
    case 'aws:kms/key:Key':
      return { arn: `arn:aws:kms:eu-west-1:123456789012:key/${name}` };
    case 'aws:rds/subnetGroup:SubnetGroup':
    case 'aws:elasticache/subnetGroup:SubnetGroup':
    case 'aws:rds/parameterGroup:ParameterGroup':
      return { name };
    case 'docker-build:index:Image': {
      // A digest per tag, as a registry would return: deployments must pin this one.
      const digest = `sha256:${createHash('sha256')
        .update((inputs.tags as string[])[0]!)
        .digest('hex')}`;
      return { ref: `${(inputs.tags as string[])[0]}@${digest}`, digest };
    }
    case 'aws:ecr/repository:Repository':
      return {
        arn: `arn:aws:ecr:eu-west-1:123456789012:repository/${String(inputs.name)}`,
        registryId: '123456789012',
        repositoryUrl: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${String(inputs.name)}`,
      };
    case 'aws:ec2/launchTemplate:LaunchTemplate':
      return { latestVersion: 1 };
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { arn: `arn:aws:logs:eu-west-1:123456789012:log-group:${String(inputs.name)}` };
    case 'aws:iam/policy:Policy':
      return { arn: `arn:aws:iam::123456789012:policy/${name}` };
    case 'aws:acm/certificate:Certificate':
      return {
        arn: `arn:aws:acm:eu-west-1:123456789012:certificate/${name}`,
        domainValidationOptions: [
          {
            domainName: inputs.domainName,
            resourceRecordName: `_x1.${String(inputs.domainName)}.`,
            resourceRecordType: 'CNAME',
            resourceRecordValue: '_x2.acm-validations.aws.',
          },
        ],
      };
    case 'aws:acm/certificateValidation:CertificateValidation':
      return { certificateArn: inputs.certificateArn };
    case 'aws:route53/record:Record':
      return { fqdn: String(inputs.name).replace(/\.$/, '') };
    case 'kubernetes:networking.k8s.io/v1:Ingress':
      return {
        status: {
          loadBalancer: {
            ingress: [{ hostname: `k8s-${name}-0123456789.eu-west-1.elb.amazonaws.com` }],
          },
        },
      };
    default:
      return {};
  }
}

/** The provider functions a plan may call, answered as AWS would. */
const INVOKES: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>> = {
  'aws:ecr/getAuthorizationToken:getAuthorizationToken': (inputs) => ({
    id: String(inputs.registryId),
    userName: 'AWS',
    password: 'mock-ecr-password',
    authorizationToken: Buffer.from('AWS:mock-ecr-password').toString('base64'),
    proxyEndpoint: `https://${String(inputs.registryId)}.dkr.ecr.eu-west-1.amazonaws.com`,
    expiresAt: '2026-12-03T00:00:00Z',
  }),
};

/** A CA certificate standing in for Amazon's RDS bundle (test/infra/fixtures/rds-test-ca.pem). */
export const TEST_RDS_CA = readFileSync(
  new URL('./fixtures/rds-test-ca.pem', import.meta.url),
  'utf8',
);

/** What the program may download, by URL pattern. */
const FETCHABLE: Record<string, () => string> = {
  '^https://truststore\\.pki\\.rds\\.amazonaws\\.com/[a-z0-9-]+/[a-z0-9-]+-bundle\\.pem$': () =>
    TEST_RDS_CA,
};

type MonitorLike = {
  registerResource(req: RegisterRequest, callback: unknown): unknown;
  newUrn(parent: string, type: string, name: string): string;
};
type RegisterRequest = {
  getType(): string;
  getName(): string;
  getParent(): string;
  getIgnorechangesList(): string[];
  getDependenciesList(): string[];
  getRetainondelete(): boolean;
};

export interface RunOptions {
  stack: string;
  config?: Record<string, string>;
  secretKeys?: string[];
  /** Bypass Pulumi config and the registry loader (the bench uses generated specs). */
  inputs?: { config?: StackConfig; specs?: ServerSpec[] };
}

/** Runs infra/index.ts for one stack. Safe to call repeatedly in one process: each run resets the runtime. */
export async function runStack(options: RunOptions): Promise<StackRun> {
  const resources: Recorded[] = [];
  const invokes: Invoked[] = [];
  const pending = new Map<string, Omit<Recorded, 'inputs' | 'secretPaths'>>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const meta = pending.get(`${args.type}::${args.name}`);
        const state = {
          ...args.inputs,
          ...computedState(
            args.type,
            args.name,
            unwrapSecrets(args.inputs, '', []) as Record<string, unknown>,
          ),
        };
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, '', secretPaths) as Record<string, unknown>;
        if (meta) resources.push({ ...meta, inputs, secretPaths });
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        invokes.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        const answer = INVOKES[args.token];
        if (!answer)
          throw new Error(`the program called ${args.token}, which the harness does not answer`);
        return answer(args.inputs as Record<string, unknown>);
      },
    },
    'mcpfleet',
    options.stack,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    pending.set(`${req.getType()}::${req.getName()}`, {
      type: req.getType(),
      name: req.getName(),
      urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
      parentUrn: req.getParent(),
      ignoreChanges: req.getIgnorechangesList(),
      dependencies: req.getDependenciesList(),
      retainOnDelete: req.getRetainondelete() === true,
    });
    return register(req, callback);
  };
  const fromFile = options.config
    ? { config: options.config, secretKeys: options.secretKeys ?? [] }
    : stackConfig(options.stack);
  pulumi.runtime.setAllConfig(fromFile.config, fromFile.secretKeys);

  const warnings: string[] = [];
  const originalError = console.error;
  console.error = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
  // An error inside an apply that feeds a resource fails that registration asynchronously; the
  // engine fails the up for it, so the run must too.
  const failures: unknown[] = [];
  const onFailure = (reason: unknown) => failures.push(reason);
  process.on('unhandledRejection', onFailure);
  const fetched: string[] = [];
  const originalFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    fetched.push(url);
    const body = Object.entries(FETCHABLE).find(([pattern]) => new RegExp(pattern).test(url))?.[1];
    if (body === undefined)
      throw new Error(`the program fetched ${url}, which the harness does not serve`);
    return new Response(body(), { status: 200 });
  }) as typeof fetch;
  try {
    const program = (await import('../../infra/index.ts')).default;
    let outputs: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => (outputs = await program(options.inputs)));
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    await new Promise((resolve) => setImmediate(resolve));
    if (failures.length > 0) throw failures[0];
    const secretOutputs: string[] = [];
    for (const [key, value] of Object.entries(outputs)) {
      if (
        pulumi.Output.isInstance(value) &&
        (await (value as unknown as { isSecret: Promise<boolean> }).isSecret)
      )
        secretOutputs.push(key);
    }
    return { resources, invokes, fetched, outputs: await unwrap(outputs), secretOutputs, warnings };
  } finally {
    console.error = originalError;
    globalThis.fetch = originalFetch;
    process.off('unhandledRejection', onFailure);
  }
}

async function unwrap(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(outputs)) {
    result[key] = pulumi.Output.isInstance(value)
      ? await (value as unknown as { promise(): Promise<unknown> }).promise()
      : value;
  }
  return result;
}

export const ofType = (run: StackRun, type: string) => run.resources.filter((r) => r.type === type);
