// Issue 8, points 2, 9 and 12: the public entry point.
// 2. The `alb` Ingress works on a new cluster: the program installs the AWS Load Balancer
//    Controller (Helm, Pod Identity), the ALB is internet-facing with IP targets, TLS comes from
//    an ACM certificate validated through Route 53, and the DNS record makes gatewayUrl resolve.
// 9. Only the MCP endpoints are published; the API and /metrics stay in-cluster unless listed;
//    the controller admits connections only from the ingress path, Prometheus and its peers.
// 12. The ALB's idle timeout is longer than the gateway's SSE keep-alive interval.
import assert from 'node:assert/strict';
import { SSE_KEEPALIVE_MS } from '../../controller/gateway/sse-keepalive.ts';
import { parseConfig } from '../../infra/config.ts';
import { subnetCidrs } from '../../infra/components/network.ts';
import { readStackFile } from '../../infra/render.ts';
import { ofType, runStack, stackConfig, type StackRun } from './harness.ts';
import { k8sObject, resource, stackRun, type Obj } from './runs.ts';

const INGRESS = 'kubernetes:networking.k8s.io/v1:Ingress';
const POLICY = 'kubernetes:networking.k8s.io/v1:NetworkPolicy';
const controllerIngress = (run: StackRun) => k8sObject(run, INGRESS, 'mcpfleet-controller');
const annotations = (run: StackRun) =>
  (controllerIngress(run).inputs.metadata as Obj).annotations as Record<string, string>;

describe('issue 8.2: the ALB ingress is installed, certified and named by the program', function () {
  this.timeout(60_000);

  for (const stack of ['dev', 'prod'] as const) {
    it(`${stack}: installs the AWS Load Balancer Controller from its chart, with a Pod Identity role`, async () => {
      const run = await stackRun(stack);
      const config = readStackFile(stack);
      const release = resource(
        run,
        'kubernetes:helm.sh/v3:Release',
        'load-balancer-controller-release',
      );
      assert.equal(release.inputs.chart, 'aws-load-balancer-controller');
      assert.deepEqual(release.inputs.repositoryOpts, { repo: 'https://aws.github.io/eks-charts' });
      assert.equal(release.inputs.version, '3.5.0');
      assert.equal(release.inputs.namespace, 'kube-system');
      const values = release.inputs.values as Obj;
      assert.equal(values.clusterName, config.cluster.mode === 'eks' && config.cluster.name);
      assert.equal(values.region, 'eu-west-1', 'pods cannot ask the instance metadata');
      assert.equal(values.vpcId, 'network-vpc-id');
      assert.equal(values.serviceAccount.name, 'aws-load-balancer-controller');
      assert.equal(values.enableServiceMutatorWebhook, false, 'Services never wait for it');
      const association = resource(
        run,
        'aws:eks/podIdentityAssociation:PodIdentityAssociation',
        'load-balancer-controller-identity',
      );
      assert.deepEqual(
        [association.inputs.namespace, association.inputs.serviceAccount],
        ['kube-system', 'aws-load-balancer-controller'],
      );
      assert.ok(release.dependencies.includes(association.urn));
      const role = resource(run, 'aws:iam/role:Role', 'load-balancer-controller-role');
      assert.ok(String(association.inputs.roleArn).endsWith('/load-balancer-controller-role'));
      assert.match(String(role.inputs.assumeRolePolicy), /pods\.eks\.amazonaws\.com/);
      const policy = JSON.parse(
        String(
          resource(run, 'aws:iam/policy:Policy', 'load-balancer-controller-role').inputs.policy,
        ),
      ) as { Statement: Obj[] };
      const create = policy.Statement.find((s) =>
        [s.Action].flat().includes('elasticloadbalancing:CreateLoadBalancer'),
      )!;
      assert.deepEqual(create.Condition, {
        Null: { 'aws:RequestTag/elbv2.k8s.aws/cluster': 'false' },
      });
      // The Ingress waits for the controller (its webhook) and is deleted before it.
      assert.ok(controllerIngress(run).dependencies.includes(release.urn));
    });

    it(`${stack}: an internet-facing ALB to the pod IPs, TLS from a Route 53-validated ACM certificate`, async () => {
      const run = await stackRun(stack);
      const config = readStackFile(stack);
      assert.equal(config.ingress.mode, 'alb');
      if (config.ingress.mode !== 'alb') return;
      const ingress = controllerIngress(run);
      assert.equal((ingress.inputs.spec as Obj).ingressClassName, 'alb');
      const a = annotations(run);
      assert.equal(a['alb.ingress.kubernetes.io/scheme'], 'internet-facing');
      assert.equal(a['alb.ingress.kubernetes.io/target-type'], 'ip');
      assert.deepEqual(JSON.parse(a['alb.ingress.kubernetes.io/listen-ports']!), [
        { HTTP: 80 },
        { HTTPS: 443 },
      ]);
      assert.equal(a['alb.ingress.kubernetes.io/ssl-redirect'], '443');
      const certificate = resource(run, 'aws:acm/certificate:Certificate', 'gateway-certificate');
      assert.deepEqual(
        [certificate.inputs.domainName, certificate.inputs.validationMethod],
        [config.ingress.host, 'DNS'],
      );
      const record = resource(run, 'aws:route53/record:Record', 'gateway-certificate-validation');
      assert.equal(record.inputs.zoneId, config.ingress.hostedZoneId);
      assert.equal(record.inputs.name, `_x1.${config.ingress.host}.`);
      const validation = resource(
        run,
        'aws:acm/certificateValidation:CertificateValidation',
        'gateway-certificate',
      );
      assert.ok(validation.dependencies.includes(record.urn));
      // The listener gets the certificate only once ACM has issued it.
      assert.equal(
        a['alb.ingress.kubernetes.io/certificate-arn'],
        `arn:aws:acm:eu-west-1:123456789012:certificate/gateway-certificate`,
      );
      assert.ok(ingress.dependencies.includes(validation.urn));
    });

    it(`${stack}: writes the DNS record to the ALB, so gatewayUrl resolves when the up ends`, async () => {
      const run = await stackRun(stack);
      const config = readStackFile(stack);
      if (config.ingress.mode !== 'alb') assert.fail('alb expected');
      const record = resource(run, 'aws:route53/record:Record', 'gateway-dns');
      assert.deepEqual(
        [record.inputs.zoneId, record.inputs.name, record.inputs.type, record.inputs.records],
        [
          config.ingress.hostedZoneId,
          config.ingress.host,
          'CNAME',
          // The hostname the load balancer controller wrote into the Ingress status.
          ['k8s-platform-controller-0123456789.eu-west-1.elb.amazonaws.com'],
        ],
      );
      assert.ok(record.dependencies.includes(controllerIngress(run).urn));
      assert.equal(run.outputs.gatewayUrl, `https://${config.ingress.host}`);
    });
  }

  it('refuses an ALB ingress on an existing cluster (nothing installs the controller there)', () => {
    const config = structuredClone(readStackFile('local')) as Obj;
    config.ingress = { mode: 'alb', host: 'mcp.example.com', hostedZoneId: 'Z0123456789' };
    assert.throws(
      () => parseConfig(config),
      /mcpfleet:ingress\.mode: "alb" needs cluster\.mode "eks"/,
    );
  });
});

describe('issue 8.9: minimal exposure', function () {
  this.timeout(60_000);

  for (const stack of ['local', 'dev', 'prod'] as const) {
    it(`${stack}: the Ingress routes the MCP endpoints and their metadata only: no /, no /api, no /metrics`, async () => {
      const rules = (controllerIngress(await stackRun(stack)).inputs.spec as Obj).rules as Obj[];
      assert.deepEqual(
        rules.flatMap((r) => r.http.paths.map((p: Obj) => [p.path, p.pathType])),
        [
          ['/servers', 'Prefix'],
          ['/.well-known/oauth-protected-resource', 'Prefix'],
        ],
      );
    });
  }

  it('publishes /api and /metrics only when the stack says so', async () => {
    const { config, secretKeys } = stackConfig('prod');
    const ingress = JSON.parse(config['mcpfleet:ingress']!) as Obj;
    const run = await runStack({
      stack: 'prod',
      secretKeys,
      config: {
        ...config,
        'mcpfleet:ingress': JSON.stringify({ ...ingress, expose: ['api', 'metrics'] }),
      },
    });
    const rules = (controllerIngress(run).inputs.spec as Obj).rules as Obj[];
    assert.deepEqual(
      rules[0]!.http.paths.map((p: Obj) => [p.path, p.pathType]),
      [
        ['/servers', 'Prefix'],
        ['/.well-known/oauth-protected-resource', 'Prefix'],
        ['/api', 'Prefix'],
        ['/metrics', 'Exact'],
      ],
    );
  });

  const peers = {
    podSelector: {
      matchLabels: {
        'app.kubernetes.io/name': 'mcpfleet-controller',
        'app.kubernetes.io/instance': 'mcpfleet-controller',
      },
    },
  };
  const inNamespace = (name: string) => ({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
  });
  const port = [{ protocol: 'TCP', port: 8080 }];

  for (const stack of ['dev', 'prod'] as const) {
    it(`${stack}: the controller admits the ALB's subnets, Prometheus and its peers, nothing else`, async () => {
      const policy = k8sObject(await stackRun(stack), POLICY, 'mcpfleet-controller');
      const network = readStackFile(stack).network!;
      const albSubnets = subnetCidrs(network.cidrBlock, network.availabilityZones.length).public;
      assert.deepEqual(policy.inputs.spec, {
        podSelector: peers.podSelector,
        policyTypes: ['Ingress'],
        ingress: [
          { from: albSubnets.map((cidr) => ({ ipBlock: { cidr } })), ports: port },
          { from: [inNamespace('monitoring')], ports: port },
          { from: [peers], ports: port },
        ],
      });
      // The subnets the ALB lives in are those public CIDRs.
      const publicSubnets = ofType(await stackRun(stack), 'aws:ec2/subnet:Subnet')
        .filter((s) => (s.inputs.tags as Obj)['kubernetes.io/role/elb'] === '1')
        .map((s) => s.inputs.cidrBlock);
      assert.deepEqual(publicSubnets, albSubnets);
    });
  }

  it("local: the controller admits the ingress controller's namespace instead", async () => {
    const policy = k8sObject(await stackRun('local'), POLICY, 'mcpfleet-controller');
    assert.deepEqual((policy.inputs.spec as Obj).ingress[0], {
      from: [inNamespace('ingress-nginx')],
      ports: port,
    });
  });
});

describe('issue 8.12: long streams outlive the load balancer idle timeout', function () {
  this.timeout(60_000);

  for (const stack of ['dev', 'prod'] as const) {
    it(`${stack}: the ALB idle timeout is longer than the gateway's SSE keep-alive interval`, async () => {
      const value = annotations(await stackRun(stack))[
        'alb.ingress.kubernetes.io/load-balancer-attributes'
      ]!;
      const seconds = Number(/^idle_timeout\.timeout_seconds=(\d+)$/.exec(value)?.[1]);
      assert.equal(seconds, 3600);
      assert.ok(seconds * 1000 > 2 * SSE_KEEPALIVE_MS, 'two keep-alives fit in the timeout');
    });
  }

  it('refuses an idle timeout below the ALB default or above its maximum', () => {
    for (const [idle, message] of [
      [30, /expected at least 60 seconds/],
      [5000, /expected at most 4000 seconds/],
    ] as const) {
      const config = structuredClone(readStackFile('prod')) as Obj;
      config.ingress.idleTimeoutSeconds = idle;
      assert.throws(() => parseConfig(config), message);
    }
  });
});
