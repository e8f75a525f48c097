// What the AWS Load Balancer Controller may do in the account, for ALBs from Ingresses: read the
// network and load balancer state, create load balancers, target groups and security groups
// tagged for this cluster (elbv2.k8s.aws/cluster) and change only those, register pod IPs, and
// open the cluster security group to the load balancer. Kept in step with the controller
// release's own docs/install/iam_policy.json (chart version in config.ts); left out on purpose:
// WAF, Shield and Cognito (the chart values turn those features off) and network load balancers'
// extras. A missing permission shows as AccessDenied in the controller's logs (checklist).

/** Resource tags that mark what the controller created for a cluster. */
const OWNED = { Null: { 'aws:ResourceTag/elbv2.k8s.aws/cluster': 'false' } };
const TAGGED_ON_CREATE = { Null: { 'aws:RequestTag/elbv2.k8s.aws/cluster': 'false' } };
/** Tags may change on its own resources, never to claim or disown one. */
const RETAG_OWN = {
  Null: {
    'aws:RequestTag/elbv2.k8s.aws/cluster': 'true',
    'aws:ResourceTag/elbv2.k8s.aws/cluster': 'false',
  },
};
const LOAD_BALANCERS = [
  'arn:aws:elasticloadbalancing:*:*:targetgroup/*/*',
  'arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*',
  'arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*',
];

const READ = [
  'ec2:DescribeAccountAttributes',
  'ec2:DescribeAddresses',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeInternetGateways',
  'ec2:DescribeVpcs',
  'ec2:DescribeVpcPeeringConnections',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeInstances',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeTags',
  'ec2:DescribeRouteTables',
  'ec2:DescribeIpamPools',
  'ec2:GetSecurityGroupsForVpc',
  'ec2:GetCoipPoolUsage',
  'ec2:DescribeCoipPools',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeLoadBalancerAttributes',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeListenerAttributes',
  'elasticloadbalancing:DescribeListenerCertificates',
  'elasticloadbalancing:DescribeSSLPolicies',
  'elasticloadbalancing:DescribeRules',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetGroupAttributes',
  'elasticloadbalancing:DescribeTargetHealth',
  'elasticloadbalancing:DescribeTags',
  'elasticloadbalancing:DescribeTrustStores',
  'elasticloadbalancing:DescribeCapacityReservation',
  'acm:ListCertificates',
  'acm:DescribeCertificate',
  'iam:ListServerCertificates',
  'iam:GetServerCertificate',
];

export function loadBalancerControllerPolicy(): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'iam:CreateServiceLinkedRole',
        Resource: '*',
        Condition: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
      },
      { Effect: 'Allow', Action: READ, Resource: '*' },
      // Security groups: its own (tagged when created), and rules on the cluster's group so the
      // load balancer reaches the pods.
      { Effect: 'Allow', Action: 'ec2:CreateSecurityGroup', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: 'arn:aws:ec2:*:*:security-group/*',
        Condition: {
          StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup' },
          ...TAGGED_ON_CREATE,
        },
      },
      {
        Effect: 'Allow',
        Action: ['ec2:CreateTags', 'ec2:DeleteTags'],
        Resource: 'arn:aws:ec2:*:*:security-group/*',
        Condition: RETAG_OWN,
      },
      {
        Effect: 'Allow',
        Action: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
        Resource: '*',
      },
      { Effect: 'Allow', Action: 'ec2:DeleteSecurityGroup', Resource: '*', Condition: OWNED },
      // Load balancers and target groups: created tagged, then changed only when its own.
      {
        Effect: 'Allow',
        Action: [
          'elasticloadbalancing:CreateLoadBalancer',
          'elasticloadbalancing:CreateTargetGroup',
        ],
        Resource: '*',
        Condition: TAGGED_ON_CREATE,
      },
      {
        Effect: 'Allow',
        Action: 'elasticloadbalancing:AddTags',
        Resource: LOAD_BALANCERS,
        Condition: {
          StringEquals: {
            'elasticloadbalancing:CreateAction': ['CreateTargetGroup', 'CreateLoadBalancer'],
          },
          ...TAGGED_ON_CREATE,
        },
      },
      {
        Effect: 'Allow',
        Action: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'],
        Resource: LOAD_BALANCERS,
        Condition: RETAG_OWN,
      },
      {
        Effect: 'Allow',
        Action: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'],
        Resource: [
          'arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*',
          'arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*',
          'arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*',
          'arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*',
        ],
      },
      {
        Effect: 'Allow',
        Action: [
          'elasticloadbalancing:ModifyLoadBalancerAttributes',
          'elasticloadbalancing:SetIpAddressType',
          'elasticloadbalancing:SetSecurityGroups',
          'elasticloadbalancing:SetSubnets',
          'elasticloadbalancing:DeleteLoadBalancer',
          'elasticloadbalancing:ModifyTargetGroup',
          'elasticloadbalancing:ModifyTargetGroupAttributes',
          'elasticloadbalancing:DeleteTargetGroup',
          'elasticloadbalancing:ModifyListenerAttributes',
          'elasticloadbalancing:ModifyCapacityReservation',
          'elasticloadbalancing:ModifyIpPools',
        ],
        Resource: '*',
        Condition: OWNED,
      },
      {
        Effect: 'Allow',
        Action: [
          'elasticloadbalancing:CreateListener',
          'elasticloadbalancing:DeleteListener',
          'elasticloadbalancing:CreateRule',
          'elasticloadbalancing:DeleteRule',
          'elasticloadbalancing:ModifyListener',
          'elasticloadbalancing:AddListenerCertificates',
          'elasticloadbalancing:RemoveListenerCertificates',
          'elasticloadbalancing:ModifyRule',
          'elasticloadbalancing:SetRulePriorities',
        ],
        Resource: '*',
      },
      {
        Effect: 'Allow',
        Action: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
        Resource: 'arn:aws:elasticloadbalancing:*:*:targetgroup/*/*',
      },
    ],
  });
}
