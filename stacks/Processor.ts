import { use, type StackContext, type Function as SstFunction } from "sst/constructs";
import { Duration, Names } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import { NagSuppressions } from "cdk-nag";
import { getStageConfig, SWEEPER_RESERVED_CONCURRENCY } from "./config.js";
import { createFunction, handlerPath } from "./functions.js";
import { Orders } from "./Orders.js";

export interface ProcessorOutputs {
  processor: SstFunction;
  sweeper: SstFunction;
}

/**
 * The order processor: consumes `orders` in batches with partial batch responses
 * (ReportBatchItemFailures). The event source mapping's ScalingConfig.MaximumConcurrency caps
 * how many batches run at once, and the function's reserved concurrency (>= that cap, checked
 * in stacks/config.ts) guarantees that many, so a busy account never throttles the mapping's
 * invocations and burns receive counts.
 */
export function Processor({ stack, app }: StackContext): ProcessorOutputs {
  const config = getStageConfig(app.stage);
  const { queue, dlq, table } = use(Orders);

  const processor = createFunction(stack, "Processor", {
    handler: handlerPath("queue/processor"),
    description: "orders queue consumer: payment, DynamoDB order record, stock confirm/release",
    timeoutSeconds: config.processor.timeoutSeconds,
    memoryMb: config.processor.memoryMb,
    reservedConcurrency: config.processor.reservedConcurrency,
    permissions: [
      // A batch's records are read in one BatchGetItem; GetItem where one must be read again.
      new iam.PolicyStatement({
        actions: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
        resources: [table.tableArn],
      }),
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
