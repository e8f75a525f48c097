// The mcpfleet Pulumi program. It only wires components; each lives in components/ and builds
// its Kubernetes objects with the pure functions in manifests/. Pulumi calls the default export
// of infra/main.js, which checks the Node version and then calls this one (Node ≥22.19 runs this
// TypeScript file directly; Pulumi.yaml sets typescript: false). Tests and the scale bench call
// it too, under mocks, optionally with their own config and specs.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ServerSpec, WorkloadSpec } from '../registry/catalog/spec.ts';
import { AwsDataStores } from './components/awsDataStores.ts';
import { BakedImages } from './components/bakedImages.ts';
import { Cluster } from './components/cluster.ts';
import { ecrRepository, ImageRepository } from './components/imageRepository.ts';
import { InClusterDataStores } from './components/inClusterDataStores.ts';
import { kubernetesProvider } from './components/kubernetesProvider.ts';
import { LoadBalancerController } from './components/loadBalancerController.ts';
import { FleetNamespace } from './components/namespace.ts';
import { Network, subnetCidrs } from './components/network.ts';
import { Platform } from './components/platform.ts';
import { GatewayCertificate, gatewayDnsRecord } from './components/publicEndpoint.ts';
import { Server } from './components/server.ts';
import { ServerSecrets } from './components/serverSecrets.ts';
import { ClusterStorage } from './components/storageClass.ts';
import { loadConfig, type StackConfig } from './config.ts';
import { bakePlans, planArtifact } from './manifests/artifacts.ts';
import type { IngressSources } from './manifests/controllerNetworkPolicy.ts';
import { redisRevision } from './manifests/datastores.ts';
import { loadPlatformPolicy } from './platform-policy.ts';
import { loadSpecs } from './registry.ts';

export interface ProgramInputs {
  config?: StackConfig;
  specs?: ServerSpec[];
}

export default async function mcpfleet(inputs: ProgramInputs = {}) {
  const config = inputs.config ?? loadConfig();
  const specs = inputs.specs ?? (await loadSpecs(config.registryDir));
  // Before any resource: a policy file Cedar refuses fails the preview, naming its line.
  const platformPolicy = config.auth.policyFile
    ? await loadPlatformPolicy(config.auth.policyFile)
    : undefined;
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
  // On EKS every Kubernetes object waits for the admins' access, the nodes and the add-ons
  // (and a destroy deletes the objects before any of them).
  const provider = kubernetesProvider(config.cluster, cluster?.kubeconfig, {
    dependsOn: cluster?.ready ?? [],
  });
  const onCluster = { providers: { kubernetes: provider } };
  const storage = cluster ? [new ClusterStorage('storage', onCluster)] : [];
  const namespace = new FleetNamespace('namespace', { namespace: config.namespace }, onCluster);
  const inNamespace = { ...onCluster, dependsOn: [namespace, ...storage] };

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
            region: aws.config.region!,
          },
          inNamespace,
        )
      : new InClusterDataStores(
          'data',
          { config: config.dataStores, namespace: config.namespace },
          inNamespace,
        );

  // The public entry point: on `alb`, the load balancer controller and a validated certificate
  // exist before the Ingress; the DNS record follows the load balancer it provisions.
  const { ingress } = config;
  let ingressSources: IngressSources;
  let certificate: GatewayCertificate | undefined;
  let ingressController: LoadBalancerController | undefined;
  if (ingress.mode === 'alb') {
    ingressController = new LoadBalancerController(
      'load-balancer-controller',
      {
        clusterName: cluster!.name,
        region: aws.config.region!,
        vpcId: network!.vpcId,
        chartVersion: ingress.controllerChartVersion,
      },
      onCluster,
    );
    certificate = new GatewayCertificate('gateway-certificate', {
      host: ingress.host,
      hostedZoneId: ingress.hostedZoneId,
    });
    // IP targets: connections arrive from the ALB's addresses in the public subnets.
    const zones = config.network!.availabilityZones.length;
    ingressSources = {
      kind: 'load-balancer-subnets',
      cidrs: subnetCidrs(config.network!.cidrBlock, zones).public,
    };
  } else {
    ingressSources = { kind: 'namespace', namespace: ingress.controllerNamespace };
  }

  const rotation = config.dataStores;
  const platform = new Platform(
    'platform',
    {
      namespace: config.namespace,
      specs,
      controller: config.controller,
      auth: config.auth,
      ...(platformPolicy ? { platformPolicy } : {}),
      audit: config.audit,
      ingress,
      secretsRevision: `postgres-${rotation.postgres.passwordRotation}.${redisRevision(rotation)}`,
      ingressSources,
      certificateArn: certificate?.arn,
      ...(ingressController ? { ingressController } : {}),
      databaseCa: config.dataStores.mode === 'aws',
    },
    { ...onCluster, dependsOn: [namespace, dataStores] },
  );
  const gatewayUrl =
    ingress.mode === 'alb'
      ? pulumi.interpolate`https://${
          gatewayDnsRecord('gateway-dns', {
            host: ingress.host,
            hostedZoneId: ingress.hostedZoneId,
            loadBalancerHostname: platform.loadBalancerHostname,
          }).fqdn
        }`
      : platform.gatewayUrl;

  const secrets = new ServerSecrets(
    'server-secrets',
    { namespace: config.namespace, values: config.serverSecrets, specs: workloads },
    inNamespace,
  );
  const images = bakedImages(config, workloads);
  for (const spec of workloads) {
    const server = { namespace: config.namespace, images: config.images, spec };
    const tag = serverImage(server);
    const image = images.byImage.get(tag);
    const pinned = images.pinned.get(tag);
    const dependsOn = [
      ...(image ? [image] : []),
      ...spec.secretEnv.flatMap((ref) => secrets.byName.get(ref.secretName) ?? []),
    ];
    new Server(
      `server-${spec.slug}`,
      { ...server, dependsOn, ...(pinned ? { pinnedImage: { tag, ref: pinned } } : {}) },
      inNamespace,
    );
  }

  return {
    gatewayUrl,
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

/** The baked images, pushed to the stack's ECR repository when it is one (created here). */
function bakedImages(config: StackConfig, workloads: WorkloadSpec[]): BakedImages {
  const plans = bakePlans(workloads, config.images);
  const { repository, keepImages, builder } = config.images;
  if (plans.length > keepImages)
    throw new Error(
      `mcpfleet:images.keepImages is ${keepImages}, but the registry bakes ${plans.length} images: the lifecycle policy would expire images in use; raise it`,
    );
  const ecr =
    plans.length > 0 && repository && ecrRepository(repository)
      ? new ImageRepository('images-repository', { address: repository, keepImages })
      : undefined;
  return new BakedImages('images', {
    plans,
    ...(builder ? { builder } : {}),
    ...(ecr ? { registry: ecr.credentials, dependsOn: ecr.resources } : {}),
  });
}

function serverImage(server: { images: StackConfig['images']; spec: WorkloadSpec }): string {
  return planArtifact(server.spec, server.images).image;
}
