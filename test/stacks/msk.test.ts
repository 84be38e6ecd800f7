import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { App as CdkApp, Stack as CdkStack } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { ManagedKafkaEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Template } from "aws-cdk-lib/assertions";
import {
  defaultConfig,
  getStageConfig,
  productionConfig,
  queueAgeAlarmSeconds,
  stagingConfig,
  stagingMskConfig,
  validateStageConfig,
} from "../../stacks/config.js";
import { ENI_ACTIONS_DENIED_TO_CODE } from "../../stacks/functions.js";
import { allStatements, asArray, flat, ROOT, synth, type Resource, type Synth } from "./synth.js";
import { importAsOnLambda } from "../../bench/lambda-import.js";

/**
 * The stage "staging-msk": staging's settings on the Kafka transport (queue.transport "msk"), synthesized offline with
 * cdk-nag. What is the same on both transports (network, cache, table, API) is tested on staging in stacks.test.ts.
 */

let msk: Synth;

beforeAll(async () => {
  msk = await synth("staging-msk", "deploy", { ALARM_EMAILS: undefined }, { nag: true });
}, 180_000);
afterAll(() => {
  if (msk) fs.rmSync(msk.outdir, { recursive: true, force: true });
});

const HANDLERS = {
  buy: "packages/functions/src/http/buy.handler",
  health: "packages/functions/src/http/health.handler",
  processor: "packages/functions/src/queue/kafka-processor.handler",
  order: "packages/functions/src/http/order.handler",
  admin: "packages/functions/src/http/admin.handler",
  item: "packages/functions/src/http/item.handler",
  notAllowed: "packages/functions/src/http/not-allowed.handler",
  sweeper: "packages/functions/src/schedule/sweeper.handler",
};

function one(type: string, predicate: (r: Resource) => boolean = () => true) {
  const found = msk.resources(type).filter((r) => predicate(r.resource));
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0]!;
}
const fn = (handler: string) => one("AWS::Lambda::Function", (r) => r.Properties?.Handler === handler);
const clusterId = () => one("AWS::MSK::ServerlessCluster").id;

/** The Allow statements of the IAM policies attached to a function's role. */
function grants(f: { stack: string; resource: Resource }) {
  const roleId = f.resource.Properties.Role["Fn::GetAtt"][0];
  return msk
    .resources("AWS::IAM::Policy")
    .filter((p) => p.stack === f.stack && asArray(p.resource.Properties.Roles).some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.resource.Properties.PolicyDocument.Statement as any[])
    .filter((st) => st.Effect === "Allow");
}
/** action -> the resources it is granted on, flattened for substring checks. */
function byAction(statements: any[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const st of statements) for (const action of asArray<string>(st.Action)) out[action] = (out[action] ?? "") + flat(st.Resource);
  return out;
}
/** A topic or group ARN as kafkaResourceArn builds it from the cluster's ARN. */
const kafkaArn = (resource: string, kind: "topic" | "group", name: string) =>
  resource.includes(`":${kind}/"`) && resource.includes(`"/${name}"`) && resource.includes(":cluster/");

describe("stage config: the transport is chosen per stage", () => {
  it("keeps staging, production and every other stage on SQS; staging-msk is staging on MSK", () => {
    for (const c of [stagingConfig, productionConfig, defaultConfig]) expect(c.queue.transport).toBe("sqs");
    expect(getStageConfig("staging").queue.transport).toBe("sqs");
    expect(getStageConfig("staging-msk")).toBe(stagingMskConfig);
    expect(stagingMskConfig).toMatchObject({ queue: { transport: "msk" }, retainData: false });
    expect(stagingMskConfig.processor).toEqual(stagingConfig.processor);
  });

  it("refuses an MSK stage whose pollers, retries or reservation do not fit its partitions", () => {
    const k = stagingMskConfig.kafka;
    const bad = (patch: Partial<typeof k>, re: RegExp) => expect(() => validateStageConfig("x", { ...stagingMskConfig, kafka: { ...k, ...patch } })).toThrow(re);
    bad({ maximumPollers: k.partitions + 1 }, /maximumPollers <= min\(200, kafka.partitions\)/);
    bad({ minimumPollers: 3, maximumPollers: 2 }, /minimumPollers <= maximumPollers/);
    bad({ maxRetryAttempts: stagingMskConfig.queue.maxReceiveCount }, /kafka.maxRetryAttempts must exceed queue.maxReceiveCount/);
    bad({ partitions: stagingMskConfig.processor.reservedConcurrency + 1, maximumPollers: 1 }, /processor.reservedConcurrency must be >= kafka.partitions/);
    bad({ maxRetryAttempts: 100 }, /reservationTtlSeconds must exceed the mapping's retry span \(processor.timeoutSeconds x \(kafka.maxRetryAttempts \+ 1\) = 3030 s\)/);
    // the same kafka settings mean nothing on an SQS stage
    expect(() => validateStageConfig("x", { ...stagingConfig, kafka: { ...k, maximumPollers: 99 } })).not.toThrow();
  });
});

describe("MSK Serverless cluster", () => {
  it("authenticates clients with IAM only and sits in the stage's two isolated subnets with a group of its own", () => {
    const cluster = one("AWS::MSK::ServerlessCluster");
    expect(cluster.stack).toBe("Kafka");
    expect(cluster.resource.Properties.ClientAuthentication).toEqual({ Sasl: { Iam: { Enabled: true } } });
    expect(cluster.resource.Properties.ClusterName).toBe("staging-msk-flash-sale");
    const [vpcConfig] = cluster.resource.Properties.VpcConfigs;
    expect(vpcConfig.SubnetIds).toHaveLength(2);
    expect(flat(vpcConfig.SubnetIds)).toContain("isolatedSubnet");
    expect(flat(vpcConfig.SecurityGroups)).toContain("KafkaSg");
    expect(cluster.resource.DeletionPolicy).toBe("Delete"); // staging-msk is not a retained stage
  });

  it("opens 9098 (IAM) only: from the Lambdas and from itself (the event source mapping's network interfaces)", () => {
    const kafkaSg = one("AWS::EC2::SecurityGroup", (r) => flat(r.Properties.GroupDescription).includes("MSK")).id;
    const ingress = msk.resources("AWS::EC2::SecurityGroupIngress").filter((r) => flat(r.resource.Properties.GroupId).includes(kafkaSg));
    expect(ingress.map((r) => [r.resource.Properties.FromPort, r.resource.Properties.ToPort, flat(r.resource.Properties.SourceSecurityGroupId).match(/LambdaSg|KafkaSg/)?.[0]]).sort()).toEqual([
      [9098, 9098, "KafkaSg"],
      [9098, 9098, "LambdaSg"],
    ]);
    for (const r of ingress) expect(r.resource.Properties.CidrIp).toBeUndefined();
    const toKafka = msk.resources("AWS::EC2::SecurityGroupEgress").filter((r) => flat(r.resource.Properties.DestinationSecurityGroupId).includes(kafkaSg));
    expect(toKafka.map((r) => [flat(r.resource.Properties.GroupId).match(/LambdaSg|KafkaSg/)?.[0], r.resource.Properties.FromPort]).sort()).toEqual([
      ["KafkaSg", 9098],
      ["LambdaSg", 9098],
    ]);
  });

  it("creates the orders topic and its dead-letter topic at deploy time, after the network rules, and never from a wildcard", () => {
    const topics = one("Custom::KafkaTopics");
    expect(topics.resource.Properties.Topics).toEqual([
      { name: "orders", partitions: stagingMskConfig.kafka.partitions, retentionMs: stagingMskConfig.queue.retentionDays * 86_400_000 },
      { name: "orders-dlt", partitions: stagingMskConfig.kafka.partitions, retentionMs: 14 * 86_400_000 },
    ]);
    expect(flat(topics.resource.Properties.Brokers)).toContain("BootstrapBrokerStringSaslIam");
    expect(flat((topics.resource as any).DependsOn)).toContain("LambdaToKafka");
    // the creator: in the VPC, as a principal that may create, describe and grow these two topics, nothing else
    const creator = one("AWS::Lambda::Function", (r) => r.Properties?.Handler === "packages/functions/src/deploy/kafka-topics.handler");
    expect(creator.resource.Properties.VpcConfig.SubnetIds).toHaveLength(2);
    const actions = byAction(grants(creator));
    expect(Object.keys(actions).sort()).toEqual(["kafka-cluster:AlterTopic", "kafka-cluster:Connect", "kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic"]);
    expect(actions["kafka-cluster:Connect"]).toContain(clusterId());
    expect(kafkaArn(actions["kafka-cluster:CreateTopic"]!, "topic", "orders")).toBe(true);
    expect(kafkaArn(actions["kafka-cluster:CreateTopic"]!, "topic", "orders-dlt")).toBe(true);
    // the bootstrap lookup may call GetBootstrapBrokers on this cluster only
    const lookup = msk.resources("AWS::IAM::Policy").find((p) => flat(p.resource.Properties.PolicyDocument).includes("kafka:GetBootstrapBrokers") && p.stack === "Kafka")!;
    expect(lookup.resource.Properties.PolicyDocument.Statement).toEqual([
      { Action: "kafka:GetBootstrapBrokers", Effect: "Allow", Resource: { "Fn::GetAtt": [clusterId(), "Arn"] } },
    ]);
  });

  it("has no SQS queue; the orders table stays", () => {
    expect(msk.resources("AWS::SQS::Queue")).toHaveLength(0);
    expect(msk.resources("AWS::DynamoDB::Table")).toHaveLength(1);
  });
});

describe("processor on the MSK event source mapping", () => {
  it("reads the orders topic from the oldest record, in provisioned mode, with Kafka's partial batch responses, bisecting, a retry limit and the dead-letter topic as on-failure destination", () => {
    const esm = one("AWS::Lambda::EventSourceMapping");
    const processor = fn(HANDLERS.processor);
    const c = stagingMskConfig;
    expect(esm.resource.Properties).toMatchObject({
      Topics: ["orders"],
      StartingPosition: "TRIM_HORIZON",
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: "staging-msk-flash-sale-processor" },
      BatchSize: c.processor.batchSize,
      MaximumBatchingWindowInSeconds: c.processor.maxBatchingWindowSeconds,
      ProvisionedPollerConfig: { MinimumPollers: c.kafka.minimumPollers, MaximumPollers: c.kafka.maximumPollers },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: c.kafka.maxRetryAttempts,
      DestinationConfig: { OnFailure: { Destination: "kafka://orders-dlt" } },
      FunctionName: { Ref: processor.id },
    });
    expect(flat(esm.resource.Properties.EventSourceArn)).toContain("ClusterArn");
    expect(esm.resource.Properties.ScalingConfig).toBeUndefined(); // MaximumConcurrency is for SQS mappings
    expect(c.kafka.maxRetryAttempts).toBeGreaterThan(c.queue.maxReceiveCount); // the processor dead-letters first
    expect(processor.resource.Properties.ReservedConcurrentExecutions).toBeGreaterThanOrEqual(c.kafka.partitions);
  });

  it("tells every function the transport, the brokers (looked up at deploy) and the topics, and no queue URL", () => {
    const fns = msk.functions();
    expect(fns.map((f) => f.resource.Properties.Handler).sort()).toEqual(Object.values(HANDLERS).sort());
    for (const f of fns) {
      const env = f.resource.Properties.Environment.Variables;
      expect(env, f.id).toMatchObject({ QUEUE_TRANSPORT: "kafka", KAFKA_TOPIC: "orders", KAFKA_DEAD_LETTER_TOPIC: "orders-dlt", KAFKA_IAM_AUTH: "true" });
      expect(flat(env.KAFKA_BROKERS)).toContain("BootstrapBrokerStringSaslIam");
      expect(env.QUEUE_URL, f.id).toBeUndefined();
      expect(env.DLQ_URL, f.id).toBeUndefined();
    }
  });
});

describe("least-privilege IAM on MSK", () => {
  it("allows no wildcard action anywhere, and no SQS action at all", () => {
    for (const { stack, id, statement } of allStatements(msk).filter((x) => x.statement.Effect === "Allow")) {
      for (const action of asArray<string>(statement.Action)) {
        expect(action.includes("*"), `${stack}/${id}: ${action}`).toBe(false);
        expect(action.startsWith("sqs:"), `${stack}/${id}: ${action}`).toBe(false);
      }
    }
  });

  it("lets buy write the orders topic idempotently, health describe it, and nothing else on the cluster", () => {
    const buy = byAction(grants(fn(HANDLERS.buy)));
    expect(Object.keys(buy).filter((a) => a.startsWith("kafka")).sort()).toEqual([
      "kafka-cluster:Connect", "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "kafka-cluster:WriteDataIdempotently",
    ]);
    expect(buy["kafka-cluster:Connect"]).toContain("ClusterArn");
    expect(buy["kafka-cluster:WriteDataIdempotently"]).toContain("ClusterArn");
    expect(kafkaArn(buy["kafka-cluster:WriteData"]!, "topic", "orders")).toBe(true);
    expect(buy["kafka-cluster:WriteData"]).not.toContain("orders-dlt");
    const health = byAction(grants(fn(HANDLERS.health)));
    expect(Object.keys(health).filter((a) => a.startsWith("kafka")).sort()).toEqual(["kafka-cluster:Connect", "kafka-cluster:DescribeTopic"]);
    for (const h of [HANDLERS.order, HANDLERS.admin, HANDLERS.item, HANDLERS.sweeper]) {
      expect(Object.keys(byAction(grants(fn(h)))).filter((a) => a.startsWith("kafka")), h).toEqual([]);
    }
  });

  it("gives the processor what its mapping reads with and what dead letters are written with, on this cluster, its topics and its group", () => {
    const processor = byAction(grants(fn(HANDLERS.processor)));
    expect(Object.keys(processor).sort()).toEqual(
      [
        "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "elasticache:Connect",
        "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
        "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers",
        "kafka-cluster:AlterGroup", "kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration", "kafka-cluster:DescribeGroup",
        "kafka-cluster:DescribeTopic", "kafka-cluster:ReadData", "kafka-cluster:WriteData", "kafka-cluster:WriteDataIdempotently",
      ].sort(),
    );
    expect(kafkaArn(processor["kafka-cluster:ReadData"]!, "topic", "orders")).toBe(true);
    expect(processor["kafka-cluster:ReadData"]).not.toContain("orders-dlt");
    expect(kafkaArn(processor["kafka-cluster:WriteData"]!, "topic", "orders-dlt")).toBe(true);
    expect(kafkaArn(processor["kafka-cluster:AlterGroup"]!, "group", "staging-msk-flash-sale-processor")).toBe(true);
    for (const a of ["kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers", "kafka-cluster:Connect"]) expect(processor[a]).toContain("ClusterArn");
  });

  it("grants Resource '*' to app functions only for the EC2 Describe actions the processor's mapping needs (they have no resource-level form)", () => {
    for (const f of msk.functions()) {
      for (const st of grants(f)) {
        if (!asArray(st.Resource).includes("*")) continue;
        expect(f.resource.Properties.Handler).toBe(HANDLERS.processor);
        expect(asArray(st.Action).sort()).toEqual(["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]);
      }
    }
    expect(ENI_ACTIONS_DENIED_TO_CODE).not.toContain("ec2:DescribeVpcs");
  });

  it("does not use ManagedKafkaEventSource, which attaches AWSLambdaMSKExecutionRole (Resource '*') and not DescribeClusterV2", () => {
    const app = new CdkApp();
    const stack = new CdkStack(app, "Probe");
    const probe = new lambda.Function(stack, "Fn", { runtime: lambda.Runtime.NODEJS_22_X, handler: "index.handler", code: lambda.Code.fromInline("exports.handler=()=>{}") });
    probe.addEventSource(new ManagedKafkaEventSource({ clusterArn: "arn:aws:kafka:us-east-1:123456789012:cluster/c/uuid", topic: "orders", startingPosition: lambda.StartingPosition.TRIM_HORIZON }));
    const template = Template.fromStack(stack).toJSON();
    expect(flat(template)).toContain("service-role/AWSLambdaMSKExecutionRole");
    expect(flat(template)).toContain("kafka:DescribeCluster\"");
    expect(flat(template)).not.toContain("kafka:DescribeClusterV2");
    // ours: no such managed policy on any role
    const managed = msk.resources("AWS::IAM::Role").flatMap((r) => asArray(r.resource.Properties.ManagedPolicyArns)).map(flat);
    expect(managed.some((m) => m.includes("AWSLambdaMSKExecutionRole"))).toBe(false);
  });
});

describe("monitoring on MSK", () => {
  const alarms = () => msk.resources("AWS::CloudWatch::Alarm").map((a) => a.resource.Properties);
  const named = (name: string) => alarms().find((a) => flat(a.AlarmName).includes(`-${name}`));

  it("alarms on consumer lag in records (OffsetLag) and in time (EstimatedMaxTimeLag), and on the dead-letter topic; no SQS alarm", () => {
    const processorId = fn(HANDLERS.processor).id;
    expect(named("ConsumerOffsetLag")).toMatchObject({
      Namespace: "AWS/Lambda", MetricName: "OffsetLag", Statistic: "Maximum", Threshold: stagingMskConfig.alarms.consumerOffsetLagRecords,
    });
    expect(flat(named("ConsumerOffsetLag")!.Dimensions)).toContain(processorId);
    const dims = (a: any) => Object.fromEntries(a.Dimensions.map((d: any) => [d.Name, d.Value]));
    const timeLag = named("ConsumerTimeLag")!;
    expect(timeLag).toMatchObject({ Namespace: "AWS/Kafka", MetricName: "EstimatedMaxTimeLag", Threshold: queueAgeAlarmSeconds(stagingMskConfig) });
    expect(dims(timeLag)).toEqual({ "Cluster Name": "staging-msk-flash-sale", "Consumer Group": "staging-msk-flash-sale-processor", Topic: "orders" });
    const writes = named("DeadLetterTopicWrites")!;
    expect(writes).toMatchObject({ Namespace: "AWS/Kafka", MetricName: "MessagesInPerSec", Threshold: 0, ComparisonOperator: "GreaterThanThreshold" });
    expect(dims(writes)).toEqual({ "Cluster Name": "staging-msk-flash-sale", Topic: "orders-dlt" });
    const waiting = named("DeadLetterTopicNotRedriven")!;
    expect(waiting).toMatchObject({ Namespace: "AWS/Kafka", MetricName: "SumOffsetLag", EvaluationPeriods: stagingMskConfig.alarms.dlqOldestMessageAgeSeconds / 60 });
    expect(dims(waiting)).toEqual({ "Cluster Name": "staging-msk-flash-sale", "Consumer Group": "orders-dlt-redrive", Topic: "orders-dlt" });
    for (const a of alarms()) expect(a.Namespace ?? "", flat(a.AlarmName)).not.toBe("AWS/SQS");
    expect(alarms()).toHaveLength(16); // staging's 15, less the 3 SQS ones, plus these 4
    const topicId = one("AWS::SNS::Topic").id;
    for (const a of alarms()) expect(flat(a.AlarmActions)).toContain(topicId);
  });

  it("shows the topic's lag and the dead-letter topic on the dashboard", () => {
    const body = flat(one("AWS::CloudWatch::Dashboard").resource.Properties.DashboardBody);
    for (const s of ["OffsetLag", "EstimatedMaxTimeLag", "MessagesInPerSec", "SumOffsetLag", "Orders topic: records in / consumer lag", "Dead-letter topic"]) expect(body, s).toContain(s);
    expect(body).not.toContain("OrdersQueue");
  });
});

describe("bundles on MSK", () => {
  it("keep kafkajs in a chunk of its own that the runtime imports when the transport is Kafka, and no AWS SDK in any file", () => {
    for (const f of msk.functions()) {
      const handler: string = f.resource.Properties.Handler;
      const main = path.join(msk.assetDir(f.resource), handler.replace(/\.[^.]+$/, ".mjs"));
      const code = fs.readFileSync(main, "utf8");
      expect(code.includes("KafkaJSNonRetriableError"), `${handler}: kafkajs in the bundle itself`).toBe(false);
      if (handler === HANDLERS.notAllowed) continue; // it answers from the route table: no runtime, no queue at all
      const chunk = code.match(/import\("\.\/(queue-[A-Z0-9]+\.mjs)"\)/)?.[1];
      expect(chunk, `${handler} imports the Kafka adapter lazily`).toBeDefined();
      expect(fs.readFileSync(path.join(path.dirname(main), chunk!), "utf8")).toContain("KafkaJSNonRetriableError");
      for (const file of fs.readdirSync(path.dirname(main)).filter((x) => x.endsWith(".mjs"))) {
        expect(fs.readFileSync(path.join(path.dirname(main), file), "utf8").includes("aws-sdk-js"), `${handler}: ${file}`).toBe(false);
      }
    }
  });

  it("load at init the DynamoDB client where the handler uses it, and the SQS client nowhere", () => {
    const sdk = path.join(msk.outdir, "node_modules");
    if (!fs.existsSync(sdk)) fs.symlinkSync(path.join(ROOT, "node_modules"), sdk, "dir");
    const env = { QUEUE_TRANSPORT: "kafka", KAFKA_BROKERS: "127.0.0.1:1", KAFKA_IAM_AUTH: "true" };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      for (const [name, handler] of [["buy", HANDLERS.buy], ["health", HANDLERS.health], ["processor", HANDLERS.processor], ["item", HANDLERS.item]]) {
        const root = msk.assetDir(fn(handler!).resource);
        const { clients } = importAsOnLambda(path.join(root, handler!.replace(/\.[^.]+$/, ".mjs")), root, name!);
        expect(clients, name).toEqual(name === "item" ? [] : ["client-dynamodb"]);
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe("cdk-nag and outputs on MSK", () => {
  it("finds no unsuppressed error or warning, and docs/deploy.md lists every suppressed rule", () => {
    expect(msk.nag.map((f) => `${f.path} ${f.rule}`)).toEqual([]);
    const section = fs.readFileSync(path.join(ROOT, "docs/deploy.md"), "utf8").split("### cdk-nag")[1]!;
    const rules = new Set(msk.resources().flatMap(({ resource }) => ((resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) as { id: string }[]).map((r) => r.id)));
    for (const rule of rules) expect(section, rule).toMatch(new RegExp(`^\\| \`${rule}\`[^|\\n]*\\|`, "m"));
  });

  it("exports the cluster, its brokers and the topics for the ops CLI, and no queue URLs", () => {
    const outputs = Object.values(msk.stacks).flatMap((s) => Object.keys(s.json.Outputs ?? {}));
    for (const name of ["KafkaClusterArn", "KafkaBootstrapBrokers", "OrdersTopic", "DeadLetterTopic", "OrdersTable", "ApiUrl"]) expect(outputs, name).toContain(name);
    expect(outputs).not.toContain("QueueUrl");
    expect(outputs).not.toContain("DlqUrl");
  });
});
