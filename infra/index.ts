// The mcpfleet Pulumi program. It only wires components; each lives in components/ and builds
// its Kubernetes objects with the pure functions in manifests/. Pulumi calls the default export
// (Node ≥22.19 runs this TypeScript file directly; Pulumi.yaml sets typescript: false). Tests and
// the scale bench call it too, under mocks, optionally with their own config and specs.
import * as pulumi from '@pulumi/pulumi';
import type { ServerSpec, WorkloadSpec } from '../registry/catalog/spec.ts';
import { AwsDataStores } from './components/awsDataStores.ts';
import { BakedImages } from './components/bakedImages.ts';
import { Cluster } from './components/cluster.ts';
import { InClusterDataStores } from './components/inClusterDataStores.ts';
import { kubernetesProvider } from './components/kubernetesProvider.ts';
import { FleetNamespace } from './components/namespace.ts';
import { Network } from './components/network.ts';
import { Platform } from './components/platform.ts';
import { Server } from './components/server.ts';
import { ServerSecrets } from './components/serverSecrets.ts';
import { loadConfig, type StackConfig } from './config.ts';
import { bakePlans, planArtifact } from './manifests/artifacts.ts';
import { loadSpecs } from './registry.ts';

export interface ProgramInputs {
  config?: StackConfig;
  specs?: ServerSpec[];
}

export default async function mcpfleet(inputs: ProgramInputs = {}) {
  const config = inputs.config ?? loadConfig();
  const specs = inputs.specs ?? (await loadSpecs(config.registryDir));
  const workloads = specs.filter((spec): spec is WorkloadSpec => spec.kind === 'workload');

  let network: Network | undefined;
  let cluster: Cluster | undefined;
  if (config.cluster.mode === 'eks') {
    network = new Network('network', { config: config.network!, clusterName: config.cluster.name });
    cluster = new Cluster('cluster', {
      config: config.cluster,
      nodeGroups: config.nodeGroups!,
      vpcId: network.vpcId,
      publicSubnetIds: network.publicSubnetIds,
      privateSubnetIds: network.privateSubnetIds,
    });
  }
  const provider = kubernetesProvider(config.cluster, cluster?.kubeconfig);
  const onCluster = { providers: { kubernetes: provider } };
  const namespace = new FleetNamespace('namespace', { namespace: config.namespace }, onCluster);
  const inNamespace = { ...onCluster, dependsOn: [namespace] };

  const dataStores =
    config.dataStores.mode === 'aws'
      ? new AwsDataStores(
          'data',
          {
            config: config.dataStores,
            vpcId: network!.vpcId,
            privateSubnetIds: network!.privateSubnetIds,
            clusterSecurityGroupId: cluster!.securityGroupId,
            namespace: config.namespace,
          },
          inNamespace,
        )
      : new InClusterDataStores(
          'data',
          { config: config.dataStores, namespace: config.namespace },
          inNamespace,
        );
  const rotation = config.dataStores;
  const platform = new Platform(
    'platform',
    {
      namespace: config.namespace,
      specs,
      controller: config.controller,
      ingress: config.ingress,
      secretsRevision: `postgres-${rotation.postgres.passwordRotation}.redis-${rotation.redis.tokenRotation}`,
    },
    { ...onCluster, dependsOn: [namespace, dataStores] },
  );

  const secrets = new ServerSecrets(
    'server-secrets',
    { namespace: config.namespace, values: config.serverSecrets, specs: workloads },
    inNamespace,
  );
  const images = new BakedImages('images', { plans: bakePlans(workloads, config.images) });
  for (const spec of workloads) {
    const server = { namespace: config.namespace, images: config.images, spec };
    const image = images.byImage.get(serverImage(server));
    const dependsOn = [
      ...(image ? [image] : []),
      ...spec.secretEnv.flatMap((ref) => secrets.byName.get(ref.secretName) ?? []),
    ];
    new Server(`server-${spec.slug}`, { ...server, dependsOn }, inNamespace);
  }

  return {
    gatewayUrl: platform.gatewayUrl,
    kubeconfig: cluster
      ? cluster.kubeconfig
      : pulumi.secret(
          config.cluster.mode === 'existing' && config.cluster.kubeconfig
            ? config.cluster.kubeconfig
            : 'ambient',
        ),
    databaseEndpoint: dataStores.postgresEndpoint,
    redisEndpoint: dataStores.redisEndpoint,
    servers: workloads.map((spec) => spec.slug),
  };
}

function serverImage(server: { images: StackConfig['images']; spec: WorkloadSpec }): string {
  return planArtifact(server.spec, server.images).image;
}
