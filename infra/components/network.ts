// The VPC the cluster and data stores live in: public subnets (load balancers, NAT), private
// subnets (nodes, RDS, ElastiCache) in every configured zone, and NAT for private egress.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { NetworkConfig } from '../config.ts';

export interface NetworkArgs {
  config: NetworkConfig;
  clusterName: string;
}

/** Splits a VPC CIDR into /prefix+4 blocks: public subnets first, private ones from the middle. */
export function subnetCidrs(
  vpcCidr: string,
  zones: number,
): { public: string[]; private: string[] } {
  const [address, bits] = vpcCidr.split('/') as [string, string];
  const prefix = Number(bits);
  const base = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - (prefix + 4));
  if (zones > 8) throw new Error('mcpfleet:network.availabilityZones: at most 8 zones');
  const block = (index: number) => {
    const start = base + index * size;
    return `${[24, 16, 8, 0].map((shift) => Math.floor(start / 2 ** shift) % 256).join('.')}/${prefix + 4}`;
  };
  return {
    public: Array.from({ length: zones }, (_, i) => block(i)),
    private: Array.from({ length: zones }, (_, i) => block(8 + i)),
  };
}

export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:Network', name, {}, opts);
    const parent = { parent: this };
    const { config } = args;
    const clusterTag = { [`kubernetes.io/cluster/${args.clusterName}`]: 'shared' };
    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: config.cidrBlock,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { Name: `${name}-vpc` },
      },
      parent,
    );
    const igw = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: vpc.id, tags: { Name: `${name}-igw` } },
      parent,
    );
    const publicRoutes = new aws.ec2.RouteTable(
      `${name}-public`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
        tags: { Name: `${name}-public` },
      },
      parent,
    );
    const cidrs = subnetCidrs(config.cidrBlock, config.availabilityZones.length);
    const publicSubnets = config.availabilityZones.map((zone, i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${zone}`,
        {
          vpcId: vpc.id,
          availabilityZone: zone,
          cidrBlock: cidrs.public[i]!,
          mapPublicIpOnLaunch: false,
          tags: { Name: `${name}-public-${zone}`, 'kubernetes.io/role/elb': '1', ...clusterTag },
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-public-${zone}`,
        { subnetId: subnet.id, routeTableId: publicRoutes.id },
        parent,
      );
      return subnet;
    });
    // One NAT gateway (dev, cheaper) or one per zone (prod: a zone outage keeps egress elsewhere).
    const natZones =
      config.natGateways === 'per-az'
        ? config.availabilityZones
        : config.availabilityZones.slice(0, 1);
    const nats = natZones.map((zone, i) => {
      const eip = new aws.ec2.Eip(
        `${name}-nat-${zone}`,
        { domain: 'vpc', tags: { Name: `${name}-nat-${zone}` } },
        parent,
      );
      return new aws.ec2.NatGateway(
        `${name}-nat-${zone}`,
        {
          allocationId: eip.id,
          subnetId: publicSubnets[i]!.id,
          tags: { Name: `${name}-nat-${zone}` },
        },
        { parent: this, dependsOn: [igw] },
      );
    });
    const privateSubnets = config.availabilityZones.map((zone, i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-private-${zone}`,
        {
          vpcId: vpc.id,
          availabilityZone: zone,
          cidrBlock: cidrs.private[i]!,
          tags: {
            Name: `${name}-private-${zone}`,
            'kubernetes.io/role/internal-elb': '1',
            ...clusterTag,
          },
        },
        parent,
      );
      const nat = nats[Math.min(i, nats.length - 1)]!;
      const routes = new aws.ec2.RouteTable(
        `${name}-private-${zone}`,
        {
          vpcId: vpc.id,
          routes: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }],
          tags: { Name: `${name}-private-${zone}` },
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-private-${zone}`,
        { subnetId: subnet.id, routeTableId: routes.id },
        parent,
      );
      return subnet;
    });
    this.vpcId = vpc.id;
    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.privateSubnetIds = privateSubnets.map((s) => s.id);
    this.registerOutputs({ vpcId: this.vpcId });
  }
}
