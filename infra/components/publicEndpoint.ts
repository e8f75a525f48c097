// The gateway's public name for an `alb` ingress: an ACM certificate for the host, validated
// through a record in the stack's Route 53 zone (Pulumi waits until ACM has issued it, so the
// ALB listener never points at a pending certificate), and, once the ALB exists, the record that
// sends the host to it. `gatewayUrl` comes from that record, so it resolves when the up ends.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export class GatewayCertificate extends pulumi.ComponentResource {
  /** The ARN once ACM has issued the certificate. */
  readonly arn: pulumi.Output<string>;

  constructor(
    name: string,
    args: { host: string; hostedZoneId: string },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('mcpfleet:infra:GatewayCertificate', name, {}, opts);
    const certificate = new aws.acm.Certificate(
      name,
      { domainName: args.host, validationMethod: 'DNS' },
      { parent: this },
    );
    // One domain, so one validation record.
    const option = certificate.domainValidationOptions.apply((options) => options[0]!);
    const record = new aws.route53.Record(
      `${name}-validation`,
      {
        zoneId: args.hostedZoneId,
        name: option.resourceRecordName,
        type: option.resourceRecordType,
        records: [option.resourceRecordValue],
        ttl: 300,
        allowOverwrite: true,
      },
      { parent: this },
    );
    const validation = new aws.acm.CertificateValidation(
      name,
      { certificateArn: certificate.arn, validationRecordFqdns: [record.fqdn] },
      { parent: this },
    );
    this.arn = validation.certificateArn;
    this.registerOutputs({ arn: this.arn });
  }
}

/** `host` → the load balancer's DNS name (a CNAME: the host is a name inside the zone). */
export function gatewayDnsRecord(
  name: string,
  args: { host: string; hostedZoneId: string; loadBalancerHostname: pulumi.Input<string> },
  opts?: pulumi.CustomResourceOptions,
): aws.route53.Record {
  return new aws.route53.Record(
    name,
    {
      zoneId: args.hostedZoneId,
      name: args.host,
      type: 'CNAME',
      ttl: 60,
      records: [args.loadBalancerHostname],
    },
    opts,
  );
}
