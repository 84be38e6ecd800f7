import type { StackContext } from "sst/constructs";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import { getStageConfig } from "./config.js";
import { ORDERS_TABLE } from "@flash/core/contract/resources";

/** SQS requires the queue's visibility timeout to be >= the consumer function timeout; AWS recommends 6x. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/**
 * TLS-only guard, like CDK's `enforceSSL` but with an explicit action list: CDK's version
 * denies `sqs:*`, and this app keeps wildcard actions out of every policy document.
 */
export const SQS_TLS_ONLY_ACTIONS = [
  "sqs:SendMessage",
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:ChangeMessageVisibility",
  "sqs:GetQueueAttributes",
  "sqs:GetQueueUrl",
  "sqs:PurgeQueue",
  "sqs:SetQueueAttributes",
  "sqs:StartMessageMoveTask",
];

function denyInsecureTransport(queue: sqs.Queue): void {
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: SQS_TLS_ONLY_ACTIONS,
      resources: [queue.queueArn],
      conditions: { Bool: { "aws:SecureTransport": "false" } },
    }),
  );
}

export interface OrdersOutputs {
  queue: sqs.Queue;
  dlq: sqs.Queue;
  table: dynamodb.Table;
}

/**
 * The order pipeline's durable state: the `orders` queue (+ DLQ) between POST /buy and the
 * processor, and the orders table the processor writes and GET /orders reads.
 */
export function Orders({ stack, app }: StackContext): OrdersOutputs {
  const config = getStageConfig(app.stage);
  const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

  const dlq = new sqs.Queue(stack, "OrdersDlq", {
    queueName: app.logicalPrefixedName("orders-dlq"),
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    removalPolicy,
  });

  const queue = new sqs.Queue(stack, "OrdersQueue", {
    queueName: app.logicalPrefixedName("orders"),
    visibilityTimeout: Duration.seconds(config.processor.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR),
    retentionPeriod: Duration.days(config.queue.retentionDays),
    deadLetterQueue: { queue: dlq, maxReceiveCount: config.queue.maxReceiveCount },
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    removalPolicy,
  });

  const table = new dynamodb.Table(stack, "OrdersTable", {
    tableName: app.logicalPrefixedName("orders"),
    partitionKey: { name: ORDERS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: config.pointInTimeRecovery },
    timeToLiveAttribute: ORDERS_TABLE.ttlAttribute,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    deletionProtection: config.retainData,
    removalPolicy,
  });

  // Orders by item, for reconcile and the sale report. Only the attributes they read are projected (cheaper writes).
  table.addGlobalSecondaryIndex({
    indexName: ORDERS_TABLE.byItem.name,
    partitionKey: { name: ORDERS_TABLE.byItem.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: ORDERS_TABLE.byItem.sortKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: [...ORDERS_TABLE.byItem.projected],
  });

  denyInsecureTransport(dlq);
  denyInsecureTransport(queue);

  stack.addOutputs({
    QueueUrl: queue.queueUrl,
    DlqUrl: dlq.queueUrl,
    OrdersTable: table.tableName,
  });

  return { queue, dlq, table };
}
