import { use, type StackContext, type Function as SstFunction } from "sst/constructs";
import { Duration } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import { getStageConfig } from "./config.js";
import { createFunction } from "./functions.js";
import { Orders } from "./Orders.js";

export interface ProcessorOutputs {
  processor: SstFunction;
  sweeper: SstFunction;
}

/**
 * The order processor: consumes `orders` in batches with partial batch responses
 * (ReportBatchItemFailures). Concurrency is capped with the event source mapping's
 * ScalingConfig.MaximumConcurrency, not reserved concurrency, so SQS never gets throttles
 * that would burn receive counts.
 */
export function Processor({ stack, app }: StackContext): ProcessorOutputs {
  const config = getStageConfig(app.stage);
  const { queue, dlq, table } = use(Orders);

  const processor = createFunction(stack, "Processor", {
    handler: "packages/functions/src/processor.handler",
    description: "orders queue consumer: payment, DynamoDB order record, stock confirm/release",
    timeoutSeconds: config.processor.timeoutSeconds,
    memoryMb: config.processor.memoryMb,
    permissions: [
      new iam.PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        resources: [table.tableArn],
      }),
      // Unparseable messages go straight to the DLQ.
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [dlq.queueArn] }),
    ],
  });

  // Grants sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes,
  // GetQueueUrl on the queue (and nothing else) to the function's role.
  processor.addEventSource(
    new SqsEventSource(queue, {
      batchSize: config.processor.batchSize,
      maxBatchingWindow: Duration.seconds(config.processor.maxBatchingWindowSeconds),
      reportBatchItemFailures: true,
      maxConcurrency: config.processor.maxConcurrency,
    }),
  );

  // The reservation sweeper: releases admissions never settled (e.g. dead-lettered) and marks them FAILED_EXPIRED.
  // It only finalizes orders: UpdateItem on the table, nothing else.
  const sweeper = createFunction(stack, "Sweeper", {
    handler: "packages/functions/src/sweeper.handler",
    description: "scheduled: release reservations older than RESERVATION_TTL_SECONDS, mark them FAILED_EXPIRED",
    timeoutSeconds: 60,
    memoryMb: 256,
    permissions: [new iam.PolicyStatement({ actions: ["dynamodb:UpdateItem"], resources: [table.tableArn] })],
  });
  new events.Rule(stack, "SweeperSchedule", {
    description: "runs the reservation sweeper",
    schedule: events.Schedule.rate(Duration.minutes(config.sweeper.rateMinutes)),
    targets: [new targets.LambdaFunction(sweeper, { retryAttempts: 0 })],
  });

  return { processor, sweeper };
}
