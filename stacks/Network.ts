import type { StackContext } from "sst/constructs";
import { RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { NagSuppressions } from "cdk-nag";
import { getStageConfig } from "./config.js";

/** The port ElastiCache Serverless (Valkey) listens on for the primary endpoint. */
export const CACHE_PORT = 6379;

export interface NetworkOutputs {
  /** Undefined in `sst dev` mode: functions then run outside any VPC. */
  vpc?: ec2.IVpc;
  /** The security group of every Lambda function in the VPC. */
  lambdaSecurityGroup?: ec2.ISecurityGroup;
  /** The security group of the ElastiCache Serverless cache. */
  cacheSecurityGroup?: ec2.ISecurityGroup;
  /** Subnets the functions and the cache use (isolated, no NAT). */
  subnets?: ec2.SubnetSelection;
}

/**
 * VPC across 2 AZs with PRIVATE_ISOLATED subnets only (no NAT gateway, no internet
 * gateway). Everything the Lambdas talk to is reachable privately:
 *  - ElastiCache Serverless inside the VPC,
 *  - DynamoDB through a gateway endpoint (free),
 *  - SQS through an interface endpoint with private DNS.
 * Lambda logs (and the EMF metrics in them) are shipped by the Lambda service itself and
 * need no endpoint.
 *
 * Stages with `vpcFlowLogs` (production) record the VPC's flow logs (all traffic) in CloudWatch Logs.
 *
 * In dev mode (`sst dev`) nothing is created: functions run on the developer's machine
 * and talk to a Redis given by REDIS_URL.
 */
export function Network({ stack, app }: StackContext): NetworkOutputs {
  if (app.mode === "dev") return {};
  const config = getStageConfig(app.stage);

  const vpc = new ec2.Vpc(stack, "Vpc", {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: "isolated", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
  });
  const subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

  if (config.vpcFlowLogs) {
    const flowLogGroup = new logs.LogGroup(stack, "VpcFlowLogs", {
      retention: logs.RetentionDays[config.logRetention.toUpperCase() as keyof typeof logs.RetentionDays],
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    vpc.addFlowLog("FlowLog", {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
  } else {
    NagSuppressions.addResourceSuppressions(vpc, [
      {
        id: "AwsSolutions-VPC7",
        reason: "Flow logs are a per-stage setting (vpcFlowLogs in stacks/config.ts), on for production. Other stages carry test traffic only, and the VPC has no internet gateway or NAT.",
      },
    ]);
  }

  const lambdaSecurityGroup = new ec2.SecurityGroup(stack, "LambdaSg", {
    vpc,
    description: "flash-sale Lambda functions",
    allowAllOutbound: false,
  });
  const cacheSecurityGroup = new ec2.SecurityGroup(stack, "CacheSg", {
    vpc,
    description: "flash-sale ElastiCache Serverless (Valkey)",
    allowAllOutbound: false,
  });
  const endpointSecurityGroup = new ec2.SecurityGroup(stack, "EndpointSg", {
    vpc,
    description: "flash-sale VPC interface endpoints",
    allowAllOutbound: false,
  });

  // Only the Lambdas may reach the cache, and only on its port.
  cacheSecurityGroup.addIngressRule(lambdaSecurityGroup, ec2.Port.tcp(CACHE_PORT), "Valkey from Lambdas");
  lambdaSecurityGroup.addEgressRule(cacheSecurityGroup, ec2.Port.tcp(CACHE_PORT), "Valkey");
  // HTTPS to the SQS interface endpoint and the DynamoDB gateway endpoint. The subnets
  // are isolated, so 443 to anywhere only reaches the endpoints.
  endpointSecurityGroup.addIngressRule(lambdaSecurityGroup, ec2.Port.tcp(443), "HTTPS from Lambdas");
  lambdaSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), "HTTPS to VPC endpoints");

  vpc.addGatewayEndpoint("DynamoDbEndpoint", {
    service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
    subnets: [subnets],
  });
  vpc.addInterfaceEndpoint("SqsEndpoint", {
    service: ec2.InterfaceVpcEndpointAwsService.SQS,
    privateDnsEnabled: true,
    subnets,
    securityGroups: [endpointSecurityGroup],
    open: false,
  });

  return { vpc, lambdaSecurityGroup, cacheSecurityGroup, subnets };
}
