// The Pulumi program under mocks, with the real Pulumi.local.yaml / Pulumi.dev.yaml /
// Pulumi.prod.yaml and the real starter registry: every promise of the infra issue, asserted
// resource by resource. What a first `pulumi up` on AWS needs is in first-up/*.test.ts.
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import type { ServerSpec, WorkloadSpec } from '../../registry/catalog/spec.ts';
import { workloadName } from '../../registry/catalog/workload-names.ts';
import { restrictedViolations } from '../../infra/manifests/security.ts';
import { ofType, runStack, stackConfig, type Recorded, type StackRun } from './harness.ts';
import { starterSpecs } from './fixtures.ts';
import { validateKubernetesObject } from './validate.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;

const K8S = {
  deployment: 'kubernetes:apps/v1:Deployment',
  statefulSet: 'kubernetes:apps/v1:StatefulSet',
  service: 'kubernetes:core/v1:Service',
  policy: 'kubernetes:networking.k8s.io/v1:NetworkPolicy',
  configMap: 'kubernetes:core/v1:ConfigMap',
  secret: 'kubernetes:core/v1:Secret',
  role: 'kubernetes:rbac.authorization.k8s.io/v1:Role',
  namespace: 'kubernetes:core/v1:Namespace',
};

const stackYaml = (stack: string) =>
  parse(readFileSync(`Pulumi.${stack}.yaml`, 'utf8')).config as Obj;
const kubernetesObjects = (run: StackRun) =>
  run.resources.filter(
    (r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('kubernetes:helm.sh/'),
  );
const byMetadataName = (run: StackRun, type: string, name: string): Recorded => {
  const found = ofType(run, type).find((r) => (r.inputs.metadata as Obj)?.name === name);
  assert.ok(found, `${type} ${name} not registered`);
  return found;
};
const podTemplates = (run: StackRun) =>
  [...ofType(run, K8S.deployment), ...ofType(run, K8S.statefulSet)].map((r) => ({
    name: (r.inputs.metadata as Obj).name as string,
    pod: (r.inputs.spec as Obj).template.spec as Obj,
  }));

describe('infra program under Pulumi mocks', function () {
  this.timeout(60_000);
  let specs: ServerSpec[];
  let workloads: WorkloadSpec[];
  const runs: Record<string, StackRun> = {};

  before(async () => {
    specs = await starterSpecs();
    workloads = specs.filter((s): s is WorkloadSpec => s.kind === 'workload');
    assert.ok(workloads.length >= 5, 'the starter registry has workloads');
    // Every stack in one process: each run resets Pulumi's global runtime state.
    runs.local = await runStack({ stack: 'local' });
    runs.dev = await runStack({ stack: 'dev' });
    runs.prod = await runStack({ stack: 'prod' });
  });

  for (const stack of ['local', 'dev', 'prod']) {
    describe(`stack ${stack} (all)`, () => {
      it('validates every emitted Kubernetes object against the Kubernetes OpenAPI schema', () => {
        const objects = kubernetesObjects(runs[stack]!);
        assert.ok(objects.length > 20);
        for (const object of objects) validateKubernetesObject(object.inputs);
      });

      it('registers unique resource URNs and unique Kubernetes object names', () => {
        const urns = runs[stack]!.resources.map((r) => r.urn);
        assert.equal(new Set(urns).size, urns.length, 'duplicate URN');
        const keys = kubernetesObjects(runs[stack]!).map((r) => {
          const m = r.inputs.metadata as Obj;
          return `${r.inputs.kind as string}/${m.namespace ?? ''}/${m.name}`;
        });
        assert.equal(
          new Set(keys).size,
          keys.length,
          'two objects with the same kind/namespace/name',
        );
      });

      it('labels the namespace to enforce the restricted Pod Security Standard', () => {
        const [namespace] = ofType(runs[stack]!, K8S.namespace);
        const labels = (namespace!.inputs.metadata as Obj).labels;
        assert.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted');
        assert.equal(
          (namespace!.inputs.metadata as Obj).name,
          stackYaml(stack)['mcpfleet:namespace'],
        );
      });

      it('gives the controller exactly the RBAC it needs: reads, the scale subresource, leases', () => {
        const [role] = ofType(runs[stack]!, K8S.role);
        assert.deepEqual(role!.inputs.rules, [
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
          {
            apiGroups: ['apps'],
            resources: ['deployments/scale'],
            verbs: ['get', 'patch', 'update'],
          },
          { apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ['get', 'list', 'watch'] },
          {
            apiGroups: ['discovery.k8s.io'],
            resources: ['endpointslices'],
            verbs: ['get', 'list', 'watch'],
          },
          {
            apiGroups: ['coordination.k8s.io'],
            resources: ['leases'],
            verbs: ['create', 'get', 'update'],
          },
        ]);
        const rules = role!.inputs.rules as Obj[];
        for (const rule of rules) {
          assert.ok(
            !rule.verbs.includes('*') &&
              !rule.resources.includes('*') &&
              !rule.apiGroups.includes('*'),
          );
          if (rule.verbs.some((v: string) => ['patch', 'update', 'create', 'delete'].includes(v))) {
            assert.ok(
              ['deployments/scale', 'leases'].includes(rule.resources.join()),
              `writes ${rule.resources}`,
            );
          }
        }
        assert.equal(
          ofType(runs[stack]!, 'kubernetes:rbac.authorization.k8s.io/v1:ClusterRole').length,
          0,
        );
      });

      it('deploys every workload server as Deployment + Service + NetworkPolicy, and remote ones not at all', () => {
        const run = runs[stack]!;
        for (const spec of workloads) {
          const name = workloadName(spec.slug);
          const deployment = byMetadataName(run, K8S.deployment, name);
          const service = byMetadataName(run, K8S.service, name);
          const policy = byMetadataName(run, K8S.policy, name);
          const labels = (deployment.inputs.metadata as Obj).labels;
          for (const key of ['name', 'instance', 'component', 'part-of', 'managed-by']) {
            assert.ok(labels[`app.kubernetes.io/${key}`], `${name} lacks app.kubernetes.io/${key}`);
          }
          const pod = (deployment.inputs.spec as Obj).template.spec;
          assert.equal(pod.automountServiceAccountToken, false);
          const port = pod.containers[0].ports[0].containerPort;
          assert.equal((service.inputs.spec as Obj).ports[0].port, port);
          assert.deepEqual(
            (service.inputs.spec as Obj).selector,
            (deployment.inputs.spec as Obj).selector.matchLabels,
          );
          // default deny: both directions, only the controller in, DNS plus the allowlist out
          const np = policy.inputs.spec as Obj;
          assert.deepEqual(np.policyTypes, ['Ingress', 'Egress']);
          assert.deepEqual(np.ingress, [
            {
              from: [
                {
                  podSelector: {
                    matchLabels: {
                      'app.kubernetes.io/name': 'mcpfleet-controller',
                      'app.kubernetes.io/instance': 'mcpfleet-controller',
                    },
                  },
                },
              ],
              ports: [{ protocol: 'TCP', port }],
            },
          ]);
          assert.deepEqual(
            np.egress[0].ports.map((p: Obj) => p.port),
            [53, 53],
          );
          if (spec.nodeArch) assert.equal(pod.nodeSelector['kubernetes.io/arch'], spec.nodeArch);
          for (const ref of spec.secretEnv) {
            const env = pod.containers[0].env.find((e: Obj) => e.name === ref.env);
            assert.deepEqual(env, {
              name: ref.env,
              valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } },
            });
          }
        }
        for (const spec of specs.filter((s) => s.kind === 'remote')) {
          assert.ok(
            !ofType(run, K8S.deployment).some(
              (r) => (r.inputs.metadata as Obj).name === workloadName(spec.slug),
            ),
          );
        }
        assert.equal(ofType(run, 'mcpfleet:infra:Server').length, workloads.length);
      });

      it('hands spec.replicas to the controller: initial minReplicas, then ignored by Pulumi', () => {
        for (const spec of workloads) {
          const deployment = byMetadataName(runs[stack]!, K8S.deployment, workloadName(spec.slug));
          assert.equal((deployment.inputs.spec as Obj).replicas, spec.scaling.minReplicas);
          assert.deepEqual(
            deployment.ignoreChanges,
            ['spec.replicas'],
            `${spec.slug} would be reset by pulumi up`,
          );
        }
        const zero = workloads.filter((s) => s.scaling.minReplicas === 0);
        assert.ok(zero.length > 0, 'scale-to-zero servers start at 0');
        // The controller's own Deployment is Pulumi's to size.
        assert.deepEqual(
          byMetadataName(runs[stack]!, K8S.deployment, 'mcpfleet-controller').ignoreChanges,
          [],
        );
      });

      it('applies the restricted security context to every pod template and container, init containers included', () => {
        const templates = podTemplates(runs[stack]!);
        assert.ok(templates.length >= workloads.length + 1);
        for (const { name, pod } of templates) {
          assert.equal(pod.securityContext.runAsNonRoot, true, name);
          assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', name);
          for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
            assert.deepEqual(restrictedViolations(container), [], `${name}/${container.name}`);
            assert.ok(
              container.resources?.limits?.memory,
              `${name}/${container.name} has no memory limit`,
            );
            assert.ok(
              container.volumeMounts.some((m: Obj) => m.mountPath === '/tmp'),
              `${name}/${container.name} has no writable /tmp`,
            );
          }
          assert.ok(
            pod.volumes.some((v: Obj) => v.name === 'tmp' && v.emptyDir),
            name,
          );
        }
      });

      it('keeps secrets out of ConfigMaps and plain env values', () => {
        const run = runs[stack]!;
        const secretValues = [
          ...stackConfig(stack).secrets,
          ...ofType(run, 'random:index/randomPassword:RandomPassword').map(
            (r) => `mock-generated-password-${r.name}`,
          ),
        ];
        assert.ok(secretValues.length >= 3);
        for (const configMap of ofType(run, K8S.configMap)) {
          const text = JSON.stringify(configMap.inputs);
          for (const secret of secretValues)
            assert.ok(!text.includes(secret), `ConfigMap ${configMap.name} leaks a secret`);
        }
        for (const { name, pod } of podTemplates(run)) {
          for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
            for (const env of container.env ?? []) {
              for (const secret of secretValues)
                assert.ok(!String(env.value ?? '').includes(secret), `${name} env ${env.name}`);
            }
            assert.ok(!JSON.stringify(container.args ?? []).includes('dummy-secret'), name);
          }
        }
        // ...but they do land in Secrets the pods reference.
        const github = byMetadataName(run, K8S.secret, 'github-mcp');
        assert.equal((github.inputs.stringData as Obj).token, stackConfig(stack).secrets[0]);
        const isSecret = (r: Recorded, path: string) =>
          r.secretPaths.some((p) => path === p || path.startsWith(`${p}.`));
        assert.ok(isSecret(github, 'stringData.token'), 'the token travels as a Pulumi secret');
        const postgres = byMetadataName(run, K8S.secret, 'mcpfleet-postgres');
        assert.ok(
          isSecret(postgres, 'stringData.url') && isSecret(postgres, 'stringData.password'),
        );
        assert.match(
          (postgres.inputs.stringData as Obj).url,
          /^postgres:\/\/mcpfleet:mock-generated-password-/,
        );
      });

      it('ships the compiled registry to the controller as ConfigMaps of ServerSpec JSON', () => {
        const run = runs[stack]!;
        const shards = ofType(run, K8S.configMap).filter(
          (r) => (r.inputs.metadata as Obj).labels['mcpfleet.dev/registry'] === 'true',
        );
        const shipped = shards.flatMap(
          (r) => JSON.parse((r.inputs.data as Obj)['servers.json']) as ServerSpec[],
        );
        assert.deepEqual(
          shipped.map((s) => s.slug),
          specs.map((s) => s.slug).sort(),
        );
        const controller = byMetadataName(run, K8S.deployment, 'mcpfleet-controller');
        const volumes = (controller.inputs.spec as Obj).template.spec.volumes as Obj[];
        const projected = volumes
          .find((v) => v.name === 'registry')!
          .projected.sources.map((s: Obj) => s.configMap.name);
        assert.deepEqual(
          projected,
          shards.map((r) => (r.inputs.metadata as Obj).name),
        );
      });

      it('exposes the controller: Service, PDB, TLS Ingress for the configured host, and the stack outputs', () => {
        const run = runs[stack]!;
        const ingressConfig = stackYaml(stack)['mcpfleet:ingress'];
        const ingress = byMetadataName(
          run,
          'kubernetes:networking.k8s.io/v1:Ingress',
          'mcpfleet-controller',
        );
        assert.equal((ingress.inputs.spec as Obj).rules[0].host, ingressConfig.host);
        if (ingressConfig.mode === 'existing') {
          assert.deepEqual((ingress.inputs.spec as Obj).tls, [
            { hosts: [ingressConfig.host], secretName: ingressConfig.tlsSecretName },
          ]);
        } else {
          // An ALB takes its certificate from ACM, never from a Secret.
          assert.equal((ingress.inputs.spec as Obj).tls, undefined);
          assert.match(
            (ingress.inputs.metadata as Obj).annotations[
              'alb.ingress.kubernetes.io/certificate-arn'
            ],
            /^arn:aws:acm:/,
          );
        }
        byMetadataName(run, 'kubernetes:policy/v1:PodDisruptionBudget', 'mcpfleet-controller');
        byMetadataName(run, K8S.service, 'mcpfleet-controller');
        assert.equal(run.outputs.gatewayUrl, `https://${ingressConfig.host}`);
        assert.ok(run.secretOutputs.includes('kubeconfig'), 'kubeconfig output must be secret');
        assert.match(String(run.outputs.databaseEndpoint), /:5432$/);
        assert.match(String(run.outputs.redisEndpoint), /:6379$/);
      });

      it('puts every Kubernetes resource on the stack kubernetes provider (never an ambient default)', () => {
        for (const r of kubernetesObjects(runs[stack]!)) {
          assert.ok(r.urn.includes('mcpfleet:infra:'), `${r.name} is outside a component`);
        }
        assert.equal(ofType(runs[stack]!, 'pulumi:providers:kubernetes').length, 1);
      });
    });
  }

  describe('stack local', () => {
    it('targets an existing cluster with in-cluster data stores: no AWS resources at all', () => {
      const run = runs.local!;
      assert.deepEqual(
        run.resources.filter((r) => r.type.startsWith('aws:')).map((r) => r.type),
        [],
      );
      assert.equal(ofType(run, 'pulumi:providers:kubernetes')[0]!.inputs.context, 'kind-mcpfleet');
    });

    it('runs PostgreSQL and Redis as StatefulSets with persistent volumes and the generated passwords', () => {
      const config = stackYaml('local')['mcpfleet:dataStores'];
      for (const [name, store] of [
        ['mcpfleet-postgres', 'postgres'],
        ['mcpfleet-redis', 'redis'],
      ] as const) {
        const set = byMetadataName(runs.local!, K8S.statefulSet, name);
        const claim = (set.inputs.spec as Obj).volumeClaimTemplates[0];
        assert.equal(claim.spec.resources.requests.storage, config[store].storageSize);
        const container = (set.inputs.spec as Obj).template.spec.containers[0];
        assert.ok(container.volumeMounts.some((m: Obj) => m.name === 'data'));
        assert.ok(container.env.some((e: Obj) => e.valueFrom?.secretKeyRef?.name === name));
        // only the controller may connect
        const policy = byMetadataName(runs.local!, K8S.policy, name);
        assert.equal(
          (policy.inputs.spec as Obj).ingress[0].from[0].podSelector.matchLabels[
            'app.kubernetes.io/name'
          ],
          'mcpfleet-controller',
        );
      }
    });

    it('installs packages on start (local and dev): runner image, no image builds, registry egress allowed', () => {
      assert.equal(ofType(runs.local!, 'docker-build:index:Image').length, 0);
      const everything = byMetadataName(runs.local!, K8S.deployment, workloadName('everything'));
      const container = (everything.inputs.spec as Obj).template.spec.containers[0];
      assert.equal(container.image, stackYaml('local')['mcpfleet:images'].runners.node);
      assert.deepEqual(container.command.slice(0, 7), [
        'mcpfleet',
        'bridge',
        '--host',
        '0.0.0.0',
        '--port',
        '8080',
        '--',
      ]);
      const policy = byMetadataName(runs.local!, K8S.policy, workloadName('everything'));
      assert.match(
        (policy.inputs.metadata as Obj).annotations['mcpfleet.dev/egress-hosts'],
        /registry\.npmjs\.org/,
      );
    });
  });

  describe('stack prod', () => {
    const config = () => stackYaml('prod');

    it('creates an EKS cluster in API authentication mode with an access entry per admin', () => {
      const [cluster] = ofType(runs.prod!, 'aws:eks/cluster:Cluster');
      assert.equal((cluster!.inputs.accessConfig as Obj).authenticationMode, 'API');
      assert.equal(cluster!.inputs.version, config()['mcpfleet:cluster'].version);
      const principals = ofType(runs.prod!, 'aws:eks/accessEntry:AccessEntry').map(
        (r) => r.inputs.principalArn,
      );
      assert.deepEqual(principals, config()['mcpfleet:cluster'].adminPrincipalArns);
      const addon = ofType(runs.prod!, 'aws:eks/addon:Addon').find(
        (a) => a.inputs.addonName === 'vpc-cni',
      )!;
      assert.deepEqual(JSON.parse(addon.inputs.configurationValues as string), {
        enableNetworkPolicy: 'true',
      });
    });

    it('creates an amd64 and an arm64 managed node group, sized from stack config', () => {
      const groups = ofType(runs.prod!, 'aws:eks/nodeGroup:NodeGroup');
      assert.equal(groups.length, 2);
      const expected = {
        amd64: 'AL2023_x86_64_STANDARD',
        arm64: 'AL2023_ARM_64_STANDARD',
      } as const;
      for (const arch of ['amd64', 'arm64'] as const) {
        const group = groups.find(
          (g) => (g.inputs.labels as Obj)['mcpfleet.dev/node-pool'] === arch,
        )!;
        const wanted = config()['mcpfleet:nodeGroups'][arch];
        assert.equal(group.inputs.amiType, expected[arch]);
        assert.deepEqual(group.inputs.instanceTypes, wanted.instanceTypes);
        assert.deepEqual(group.inputs.scalingConfig, {
          minSize: wanted.minSize,
          desiredSize: wanted.desiredSize,
          maxSize: wanted.maxSize,
        });
        assert.ok(
          (group.inputs.subnetIds as string[]).every((id) => id.includes('-private-')),
          'nodes in private subnets',
        );
      }
    });

    it('hardens RDS PostgreSQL: encrypted, private, not public, multi-AZ, deletion protection, backups, TLS', () => {
      const [db] = ofType(runs.prod!, 'aws:rds/instance:Instance');
      const wanted = config()['mcpfleet:dataStores'].postgres;
      assert.equal(db!.inputs.storageEncrypted, true);
      assert.equal(db!.inputs.publiclyAccessible, false);
      assert.equal(db!.inputs.multiAz, true);
      assert.equal(db!.inputs.deletionProtection, true);
      assert.equal(db!.inputs.backupRetentionPeriod, wanted.backupRetentionDays);
      assert.equal(db!.inputs.skipFinalSnapshot, false);
      assert.match(String(db!.inputs.password), /^mock-generated-password-/);
      const [subnets] = ofType(runs.prod!, 'aws:rds/subnetGroup:SubnetGroup');
      assert.ok((subnets!.inputs.subnetIds as string[]).every((id) => id.includes('-private-')));
      const [parameters] = ofType(runs.prod!, 'aws:rds/parameterGroup:ParameterGroup');
      assert.deepEqual(parameters!.inputs.parameters, [{ name: 'rds.force_ssl', value: '1' }]);
    });

    it('hardens ElastiCache Redis: TLS in transit, auth token, encryption at rest, failover', () => {
      const [cache] = ofType(runs.prod!, 'aws:elasticache/replicationGroup:ReplicationGroup');
      assert.equal(cache!.inputs.transitEncryptionEnabled, true);
      assert.equal(cache!.inputs.atRestEncryptionEnabled, true);
      assert.match(String(cache!.inputs.authToken), /^mock-generated-password-/);
      assert.equal(cache!.inputs.automaticFailoverEnabled, true);
      assert.equal(cache!.inputs.multiAzEnabled, true);
      const redis = byMetadataName(runs.prod!, K8S.secret, 'mcpfleet-redis');
      assert.match((redis.inputs.stringData as Obj).url, /^rediss:\/\//);
    });

    it('lets only the cluster security group reach 5432 and 6379', () => {
      const groups = ofType(runs.prod!, 'aws:ec2/securityGroup:SecurityGroup');
      assert.deepEqual(
        groups.map((g) =>
          (g.inputs.ingress as Obj[]).map((rule) => [
            rule.fromPort,
            rule.toPort,
            rule.securityGroups,
            rule.cidrBlocks ?? [],
          ]),
        ),
        [[[5432, 5432, ['sg-0eksclustersg'], []]], [[6379, 6379, ['sg-0eksclustersg'], []]]],
      );
    });

    it('runs ≥2 controller replicas spread across zones', () => {
      const controller = byMetadataName(runs.prod!, K8S.deployment, 'mcpfleet-controller');
      const spec = controller.inputs.spec as Obj;
      assert.ok(spec.replicas >= 2);
      const zone = spec.template.spec.topologySpreadConstraints.find(
        (c: Obj) => c.topologyKey === 'topology.kubernetes.io/zone',
      );
      assert.equal(zone.whenUnsatisfiable, 'DoNotSchedule');
      assert.equal(
        ofType(runs.prod!, 'aws:ec2/natGateway:NatGateway').length,
        3,
        'one NAT per zone',
      );
    });

    it('bakes each distinct package into a multi-arch image and deploys it (no install on cold start)', () => {
      const images = ofType(runs.prod!, 'docker-build:index:Image');
      const packages = new Set(
        workloads.flatMap((s) =>
          Object.values(s.artifacts).flatMap((a) =>
            a.type === 'package' ? [`${a.identifier}@${a.version}`] : [],
          ),
        ),
      );
      assert.equal(images.length, packages.size);
      for (const image of images) {
        assert.equal(image.inputs.push, true);
        assert.deepEqual(image.inputs.platforms, ['linux/amd64', 'linux/arm64']);
        const dockerfile = (image.inputs.dockerfile as Obj).inline as string;
        assert.match(dockerfile, /^FROM ghcr\.io\/acme\/mcpfleet-runner-(node|python):/);
        assert.match(dockerfile, /npm install|uv tool install/);
      }
      const everything = byMetadataName(runs.prod!, K8S.deployment, workloadName('everything'));
      const container = (everything.inputs.spec as Obj).template.spec.containers[0];
      const tags = images.flatMap((i) => i.inputs.tags as string[]);
      assert.ok(
        tags.includes(container.image.replace(/@sha256:[0-9a-f]{64}$/, '')),
        'the Deployment runs the baked image',
      );
      assert.ok(
        everything.dependencies.some((urn) => urn.includes('docker-build:index:Image')),
        'waits for the build',
      );
    });
  });

  it('fails with the offending key when Pulumi.<stack>.yaml is wrong', async () => {
    const { config, secretKeys } = stackConfig('prod');
    const groups = JSON.parse(config['mcpfleet:nodeGroups']!);
    groups.arm64.desiredSize = -2;
    await assert.rejects(
      runStack({
        stack: 'prod',
        config: { ...config, 'mcpfleet:nodeGroups': JSON.stringify(groups) },
        secretKeys,
      }),
      /mcpfleet:nodeGroups\.arm64\.desiredSize: expected a positive integer/,
    );
  });

  it('refuses an EKS version without image volumes, saying what needs them', async () => {
    const { config, secretKeys } = stackConfig('prod');
    const cluster = JSON.parse(config['mcpfleet:cluster']!);
    cluster.version = '1.33';
    await assert.rejects(
      runStack({
        stack: 'prod',
        config: { ...config, 'mcpfleet:cluster': JSON.stringify(cluster) },
        secretKeys,
      }),
      /mcpfleet:cluster\.version: expected 1\.35 or newer: stdio servers shipped as OCI images are bridged from image volumes/,
    );
  });
});
