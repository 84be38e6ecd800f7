import { use, type StackContext } from "sst/constructs";
import { CustomResource, Fn, RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as msk from "aws-cdk-lib/aws-msk";
import * as cr from "aws-cdk-lib/custom-resources";
import { NagSuppressions } from "cdk-nag";
import { ORDERS_QUEUE, ORDERS_TOPIC } from "@flash/core/contract/resources";
import { getStageConfig } from "./config.js";
import { createFunction, handlerPath } from "./functions.js";
import { Network } from "./Network.js";

/** The port MSK brokers listen on for clients with IAM access control (SASL/IAM over TLS). */
export const KAFKA_IAM_PORT = 9098;

export interface KafkaOutputs {
  /** Undefined on SQS stages (useKafka): everything below is for queue.transport "msk" only. */
  cluster?: msk.CfnServerlessCluster;
  clusterName?: string;
  /** The SASL/IAM bootstrap brokers, looked up at deploy time (MSK Serverless has no such CloudFormation attribute). */
  brokers?: string;
  topics?: { orders: string; deadLetter: string };
  /** The consumer group the processor's event source mapping reads the orders topic in. */
  consumerGroup?: string;
  /** The deploy-time resource that creates the topics: the event source mapping waits for it. */
  topicsReady?: CustomResource;
  securityGroup?: ec2.SecurityGroup;
}

/** The Kafka stack's outputs on an MSK stage; nothing on an SQS stage (which has no Kafka stack). */
export function useKafka(stage: string): KafkaOutputs {
  return getStageConfig(stage).queue.transport === "msk" ? use(Kafka) : {};
}

/** MSK cluster names: letters, digits and hyphens, <= 64 characters, starting with a letter. */
export function kafkaClusterName(stage: string, appName: string): string {
  return `${stage}-${appName}`.replace(/[^A-Za-z0-9-]/g, "-").replace(/^[^A-Za-z]+/, "").slice(0, 64) || "flash-sale";
}

/**
 * The ARN of a topic or consumer group of a cluster, for IAM: arn:<partition>:kafka:<region>:<account>:topic/<cluster
 * name>/<cluster uuid>/<topic>, made from the cluster's ARN (…:cluster/<name>/<uuid>).
 */
export function kafkaResourceArn(clusterArn: string, kind: "topic" | "group", name: string): string {
  const parts = Fn.split(":cluster/", clusterArn);
  return Fn.join("", [Fn.select(0, parts), `:${kind}/`, Fn.select(1, parts), `/${name}`]);
}

/**
 * The Kafka transport (queue.transport "msk"): an MSK Serverless cluster with IAM access control in the stage's VPC
 * (its isolated subnets: clients reach it only from there), the orders topic and its dead-letter topic, created at
 * deploy time by a custom resource (kafka-topics.ts: creates missing topics, adds partitions, never deletes), and the
 * bootstrap brokers looked up for the functions' environment. Nothing on an SQS stage.
 */
export function Kafka({ stack, app }: StackContext): KafkaOutputs {
  const config = getStageConfig(app.stage);
  if (config.queue.transport !== "msk") throw new Error(`stage ${app.stage}: the Kafka stack is for queue.transport "msk" only`);
  if (app.mode === "dev") {
    throw new Error(
      `stage ${app.stage}: queue.transport "msk" has no \`sst dev\` mode: an MSK Serverless cluster is reachable only ` +
        "inside its VPC. Run the Kafka transport locally with `QUEUE_TRANSPORT=kafka KAFKA_BROKERS=host:port npm start`.",
    );
  }
  const { vpc, lambdaSecurityGroup, subnets } = use(Network);
  if (!vpc || !lambdaSecurityGroup || !subnets) throw new Error("Network stack did not create a VPC");

  // The cluster's security group. The event source mapping's pollers and its on-failure destination connect from
  // network interfaces in the cluster's own subnets with this group, so it lets itself in, on the IAM port only.
  const securityGroup = new ec2.SecurityGroup(stack, "KafkaSg", {
    vpc,
    description: "flash-sale MSK Serverless cluster (IAM, 9098)",
    allowAllOutbound: false,
  });
  securityGroup.addIngressRule(securityGroup, ec2.Port.tcp(KAFKA_IAM_PORT), "MSK IAM: the event source mapping");
  securityGroup.addEgressRule(securityGroup, ec2.Port.tcp(KAFKA_IAM_PORT), "MSK IAM: the event source mapping");
  securityGroup.addIngressRule(lambdaSecurityGroup, ec2.Port.tcp(KAFKA_IAM_PORT), "MSK IAM from Lambdas");
  // The Lambdas' side, as a resource of this stack (a rule added to the Network stack's group would make that stack
  // refer to this one, which already refers to it).
  const lambdaEgress = new ec2.CfnSecurityGroupEgress(stack, "LambdaToKafka", {
    groupId: lambdaSecurityGroup.securityGroupId,
    ipProtocol: "tcp",
    fromPort: KAFKA_IAM_PORT,
    toPort: KAFKA_IAM_PORT,
    destinationSecurityGroupId: securityGroup.securityGroupId,
    description: "MSK IAM",
  });

  const clusterName = kafkaClusterName(app.stage, app.name);
  const cluster = new msk.CfnServerlessCluster(stack, "Cluster", {
    clusterName,
    clientAuthentication: { sasl: { iam: { enabled: true } } },
    vpcConfigs: [{ subnetIds: vpc.selectSubnets(subnets).subnetIds, securityGroups: [securityGroup.securityGroupId] }],
  });
  cluster.applyRemovalPolicy(config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);

  // The bootstrap string is an API answer, not an attribute: looked up by a deploy-time SDK call (outside the VPC).
  const lookup = new cr.AwsCustomResource(stack, "BootstrapBrokers", {
    onUpdate: {
      service: "Kafka",
      action: "getBootstrapBrokers",
      parameters: { ClusterArn: cluster.attrArn },
      physicalResourceId: cr.PhysicalResourceId.of(cluster.attrArn),
      outputPaths: ["BootstrapBrokerStringSaslIam"],
    },
    policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [cluster.attrArn] }),
    installLatestAwsSdk: false,
    logGroup: new logs.LogGroup(stack, "BootstrapBrokersLogs", {
      retention: logs.RetentionDays[config.logRetention.toUpperCase() as keyof typeof logs.RetentionDays],
      removalPolicy: RemovalPolicy.DESTROY,
    }),
  });
  const brokers = lookup.getResponseField("BootstrapBrokerStringSaslIam");

  const topics = {
    orders: ORDERS_TOPIC.defaultName,
    deadLetter: `${ORDERS_TOPIC.defaultName}${ORDERS_TOPIC.deadLetterSuffix}`,
  };
  const topicArns = [kafkaResourceArn(cluster.attrArn, "topic", topics.orders), kafkaResourceArn(cluster.attrArn, "topic", topics.deadLetter)];
  // Creates the topics, inside the VPC (the brokers are reachable nowhere else), as an IAM principal of its own.
  const topicsFunction = createFunction(stack, "KafkaTopics", {
    handler: handlerPath("deploy/kafka-topics"),
    description: "deploy time: create the orders topic and its dead-letter topic on the MSK cluster (never deletes)",
    timeoutSeconds: 300,
    memoryMb: 256,
    standalone: true,
    permissions: [
      new iam.PolicyStatement({ actions: ["kafka-cluster:Connect"], resources: [cluster.attrArn] }),
      new iam.PolicyStatement({
        actions: ["kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:AlterTopic"],
        resources: topicArns,
      }),
    ],
  });
  const provider = new cr.Provider(stack, "KafkaTopicsProvider", {
    onEventHandler: topicsFunction,
    logGroup: new logs.LogGroup(stack, "KafkaTopicsProviderLogs", {
      retention: logs.RetentionDays[config.logRetention.toUpperCase() as keyof typeof logs.RetentionDays],
      removalPolicy: RemovalPolicy.DESTROY,
    }),
  });
  const days = (n: number) => n * 86_400_000;
  const topicsReady = new CustomResource(stack, "KafkaTopicsResource", {
    serviceToken: provider.serviceToken,
    resourceType: "Custom::KafkaTopics",
    properties: {
      Brokers: brokers,
      Topics: [
        { name: topics.orders, partitions: config.kafka.partitions, retentionMs: days(config.queue.retentionDays) },
        { name: topics.deadLetter, partitions: config.kafka.partitions, retentionMs: ORDERS_QUEUE.deadLetterRetentionSeconds * 1000 },
      ],
    },
  });
  // The function connects through the security group rules above: they come first.
  topicsReady.node.addDependency(securityGroup, lambdaEgress);

  suppressDeployHelpers(provider, topicsFunction);

  stack.addOutputs({
    KafkaClusterArn: cluster.attrArn,
    KafkaBootstrapBrokers: brokers,
    OrdersTopic: topics.orders,
    DeadLetterTopic: topics.deadLetter,
  });

  return {
    cluster,
    clusterName,
    brokers,
    topics,
    consumerGroup: app.logicalPrefixedName("processor"),
    topicsReady,
    securityGroup,
  };
}

/** cdk-nag: the deploy-time helpers (CDK's own custom-resource framework functions) and the topic creator. */
function suppressDeployHelpers(provider: cr.Provider, topicsFunction: ReturnType<typeof createFunction>) {
  const deployOnly = "runs only during deploys, invoked by CloudFormation, which waits for its answer and fails the stack operation without one";
  const stack = topicsFunction.stack;
  // CDK's singleton function behind AwsCustomResource, and the provider framework's onEvent function.
  const helpers = [
    ...stack.node.children.filter((c) => c.node.id.startsWith("AWS679f53fac002430cb0da5b7982bd2287")),
    provider,
  ];
  NagSuppressions.addResourceSuppressions(
    helpers,
    [
      { id: "AwsSolutions-IAM4", reason: `CDK's custom-resource framework function ${deployOnly}: CDK gives it AWSLambdaBasicExecutionRole for its logs.`, appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"] },
      { id: "AwsSolutions-IAM5", reason: `CDK's provider framework function ${deployOnly}: it may invoke the topic creator, any version of it (the ':*' CDK grants).`, appliesTo: [{ regex: "/^Resource::<KafkaTopics[A-Za-z0-9]+\\.Arn>:\\*$/g" }] },
      { id: "AwsSolutions-L1", reason: `CDK's custom-resource framework function ${deployOnly}: aws-cdk-lib chooses its runtime, not this app.` },
      { id: "Serverless-LambdaLatestVersion", reason: `CDK's custom-resource framework function ${deployOnly}: aws-cdk-lib chooses its runtime, not this app.` },
      { id: "Serverless-LambdaDLQ", reason: `CDK's custom-resource framework function ${deployOnly}.` },
      { id: "Serverless-LambdaTracing", reason: `CDK's custom-resource framework function ${deployOnly}; X-Ray is off across the app.` },
      { id: "Serverless-LambdaDefaultMemorySize", reason: `CDK's custom-resource framework function ${deployOnly}: aws-cdk-lib sizes it.` },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(topicsFunction, [
    { id: "Serverless-LambdaDLQ", reason: `The topic creator ${deployOnly} (through CDK's provider framework, synchronously).` },
  ]);
}

/** What a function may do on the cluster, by its role (IAM access control decides every Kafka request). */
export const kafkaGrants = {
  /** Write records to `topic` with the idempotent producer (buy: the orders topic; the processor: the dead-letter topic). */
  producer(kafka: KafkaOutputs, topic: string): iam.PolicyStatement[] {
    const clusterArn = kafka.cluster!.attrArn;
    return [
      new iam.PolicyStatement({ actions: ["kafka-cluster:Connect", "kafka-cluster:WriteDataIdempotently"], resources: [clusterArn] }),
      new iam.PolicyStatement({ actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"], resources: [kafkaResourceArn(clusterArn, "topic", topic)] }),
    ];
  },
  /** Read the orders topic's metadata (the health check). */
  describe(kafka: KafkaOutputs): iam.PolicyStatement[] {
    const clusterArn = kafka.cluster!.attrArn;
    return [
      new iam.PolicyStatement({ actions: ["kafka-cluster:Connect"], resources: [clusterArn] }),
      new iam.PolicyStatement({ actions: ["kafka-cluster:DescribeTopic"], resources: [kafkaResourceArn(clusterArn, "topic", kafka.topics!.orders)] }),
    ];
  },
  /**
   * What the MSK event source mapping does with the function's role (Lambda developer guide, "Configuring Lambda
   * permissions for Amazon MSK event source mappings"): find the cluster's brokers (DescribeClusterV2 is the one a
   * serverless cluster needs), read the orders topic in its consumer group, write to the dead-letter topic (its
   * on-failure destination), and look at the VPC it makes its network interfaces in. The EC2 Describe actions have no
   * resource-level permissions: Resource "*" is the only form IAM takes for them.
   */
  mapping(kafka: KafkaOutputs): iam.PolicyStatement[] {
    const clusterArn = kafka.cluster!.attrArn;
    return [
      new iam.PolicyStatement({ actions: ["kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"], resources: [clusterArn] }),
      new iam.PolicyStatement({ actions: ["kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"], resources: [clusterArn] }),
      new iam.PolicyStatement({ actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], resources: [kafkaResourceArn(clusterArn, "topic", kafka.topics!.orders)] }),
      new iam.PolicyStatement({ actions: ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], resources: [kafkaResourceArn(clusterArn, "group", kafka.consumerGroup!)] }),
      new iam.PolicyStatement({ actions: ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"], resources: ["*"] }),
    ];
  },
};
