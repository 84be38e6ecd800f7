import { use, type Stack, type StackContext, type Function as SstFunction } from "sst/constructs";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { Duration, Names } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import { NagSuppressions } from "cdk-nag";
import { getStageConfig, SWEEPER_RESERVED_CONCURRENCY, type StageConfig } from "./config.js";
import { createFunction, handlerPath } from "./functions.js";
import { Orders } from "./Orders.js";
import { kafkaGrants, useKafka } from "./Kafka.js";

export interface ProcessorOutputs {
  processor: SstFunction;
  sweeper: SstFunction;
}

/**
 * The order processor: consumes `orders` in batches with partial batch responses
 * (ReportBatchItemFailures). On SQS the event source mapping's ScalingConfig.MaximumConcurrency caps
 * how many batches run at once, and the function's reserved concurrency (>= that cap, checked
 * in stacks/config.ts) guarantees that many, so a busy account never throttles the mapping's
 * invocations and burns receive counts. On MSK one batch per partition runs at a time, and the
 * reservation covers the partitions.
 */
export function Processor({ stack, app }: StackContext): ProcessorOutputs {
  const config = getStageConfig(app.stage);
  const processor = config.queue.transport === "msk" ? kafkaProcessor(stack, app.stage) : sqsProcessor(stack, app.stage);
  const { table } = use(Orders);

  // The reservation sweeper: releases admissions never settled (e.g. dead-lettered) and marks them FAILED_EXPIRED.
  // It only finalizes orders: UpdateItem on the table, nothing else. One run at a time.
  const sweeper = createFunction(stack, "Sweeper", {
    handler: handlerPath("schedule/sweeper"),
    description: "scheduled: release reservations older than RESERVATION_TTL_SECONDS, mark them FAILED_EXPIRED",
    timeoutSeconds: 60,
    memoryMb: 256,
    reservedConcurrency: SWEEPER_RESERVED_CONCURRENCY,
    // It reads an overdue hold's order record before it releases anything (the record decides), then writes FAILED_EXPIRED.
    permissions: [new iam.PolicyStatement({ actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources: [table.tableArn] })],
  });
  NagSuppressions.addResourceSuppressions(sweeper, [
    {
      id: "Serverless-LambdaDLQ",
      reason: "Invoked by its EventBridge schedule, whose events carry no data: a failed run is redone by the next scheduled one (every sweeper.rateMinutes), and the SweeperErrors alarm reports failures. A DLQ would only collect empty schedule events.",
    },
  ]);
  const schedule = new events.Rule(stack, "SweeperSchedule", {
    description: "runs the reservation sweeper",
    schedule: events.Schedule.rate(Duration.minutes(config.sweeper.rateMinutes)),
    targets: [new targets.LambdaFunction(sweeper, { retryAttempts: 0 })],
  });
  NagSuppressions.addResourceSuppressions(schedule, [
    {
      id: "Serverless-EventBusDLQ",
      reason: "The schedule's events carry no data and are not retried (retryAttempts 0): the next run replaces a missed one. SweeperErrors alarms on failed runs.",
    },
  ]);

  return { processor, sweeper };
}

/** The SQS transport's processor: the queue's event source mapping, partial batch responses, the queue's redrive to the DLQ. */
function sqsProcessor(stack: Stack, stage: string): SstFunction {
  const config = getStageConfig(stage);
  const { queue: maybeQueue, dlq: maybeDlq, table } = use(Orders);
  const queue = maybeQueue!;
  const dlq = maybeDlq!;

  const processor = createFunction(stack, "Processor", {
    ...processorProps(config),
    handler: handlerPath("queue/processor"),
    description: "orders queue consumer: payment, DynamoDB order record, stock confirm/release",
    permissions: [
      ordersTableGrant(table),
      // Unparseable messages go straight to the DLQ.
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [dlq.queueArn] }),
      // What the event source mapping polls the queue with. Not SqsEventSource: it also grants sqs:GetQueueUrl,
      // which neither the mapping nor the code uses.
      new iam.PolicyStatement({
        actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
        resources: [queue.queueArn],
      }),
    ],
  });
  NagSuppressions.addResourceSuppressions(processor, [
    {
      id: "Serverless-LambdaDLQ",
      reason: "Invoked by the SQS event source mapping only, which is synchronous: failed records return to the orders queue and its redrive policy moves them to the orders DLQ.",
    },
  ]);

  // The construct id SqsEventSource uses, so the mapping keeps its logical id (and the live mapping is not replaced).
  const mapping = processor.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`, {
    eventSourceArn: queue.queueArn,
    batchSize: config.processor.batchSize,
    maxBatchingWindow: Duration.seconds(config.processor.maxBatchingWindowSeconds),
    reportBatchItemFailures: true,
    maxConcurrency: config.processor.maxConcurrency,
  });
  NagSuppressions.addResourceSuppressions(mapping, [
    {
      id: "Serverless-LambdaEventSourceMappingDestination",
      reason: "SQS event source mappings have no on-failure destination; the orders queue's redrive policy (maxReceiveCount) moves failed records to the orders DLQ.",
    },
  ]);
  return processor;
}

/**
 * The Kafka transport's processor (queue.transport "msk"; design in docs/kafka.md): an MSK event source mapping on the
 * orders topic, in provisioned mode (what gives a Kafka mapping its error handling), reading from the oldest record,
 * with partial batch responses (by topic-partition and offset), bisecting a batch whose invocation fails as a whole,
 * and after kafka.maxRetryAttempts retries writing the records to the dead-letter topic (its on-failure destination).
 * The processor dead-letters a record itself first, at MAX_RECEIVE_COUNT failures.
 *
 * Not ManagedKafkaEventSource: it attaches the AWS managed policy AWSLambdaMSKExecutionRole (kafka-cluster actions on
 * every cluster, topic and group: Resource "*") and grants kafka:DescribeCluster, while a serverless cluster needs
 * DescribeClusterV2. The mapping below is the one it would make (addEventSourceMapping, as it does), and the role gets
 * exactly what the mapping uses, on this cluster, topics and group (kafkaGrants.mapping).
 */
function kafkaProcessor(stack: Stack, stage: string): SstFunction {
  const config = getStageConfig(stage);
  const { table } = use(Orders);
  const kafka = useKafka(stage);
  const processor = createFunction(stack, "Processor", {
    ...processorProps(config),
    handler: handlerPath("queue/kafka-processor"),
    description: "orders topic consumer (MSK): payment, DynamoDB order record, stock confirm/release",
    permissions: [
      ordersTableGrant(table),
      // Dead letters: the processor's own (unparseable, or MAX_RECEIVE_COUNT failures) and the mapping's backstop.
      ...kafkaGrants.producer(kafka, kafka.topics!.deadLetter),
      ...kafkaGrants.mapping(kafka),
    ],
  });
  NagSuppressions.addResourceSuppressions(
    processor,
    [
      {
        id: "Serverless-LambdaDLQ",
        reason: "Invoked by the MSK event source mapping only, which is synchronous: failed records are retried from their offset, and then go to the dead-letter topic (the mapping's on-failure destination).",
      },
      {
        id: "AwsSolutions-IAM5",
        reason: "The MSK event source mapping creates its network interfaces in the cluster's subnets and must describe the VPC, subnets and security groups first: EC2 Describe actions support no resource-level permissions, so IAM takes them on Resource * only. Every Kafka action is on this cluster, its two topics and the consumer group.",
        appliesTo: ["Resource::*"],
      },
    ],
    true,
  );

  const mapping = processor.addEventSourceMapping("KafkaEventSource", {
    eventSourceArn: kafka.cluster!.attrArn,
    kafkaTopic: kafka.topics!.orders,
    kafkaConsumerGroupId: kafka.consumerGroup,
    // Orders written before the mapping first read the topic are orders too.
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: config.processor.batchSize,
    maxBatchingWindow: Duration.seconds(config.processor.maxBatchingWindowSeconds),
    provisionedPollerConfig: { minimumPollers: config.kafka.minimumPollers, maximumPollers: config.kafka.maximumPollers },
    reportBatchItemFailures: true,
    bisectBatchOnError: true,
    retryAttempts: config.kafka.maxRetryAttempts,
    onFailure: { bind: () => ({ destination: `kafka://${kafka.topics!.deadLetter}` }) },
  });
  mapping.node.addDependency(kafka.topicsReady!);
  return processor;
}

/** The processor's size and concurrency, the same on either transport. */
const processorProps = (config: StageConfig) => ({
  timeoutSeconds: config.processor.timeoutSeconds,
  memoryMb: config.processor.memoryMb,
  reservedConcurrency: config.processor.reservedConcurrency,
});

/** The order records: a batch's read in one BatchGetItem, GetItem where one must be read again, the conditional write. */
const ordersTableGrant = (table: { tableArn: string }) =>
  new iam.PolicyStatement({ actions: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem"], resources: [table.tableArn] });
