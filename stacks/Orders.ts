import type { StackContext } from "sst/constructs";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import { NagSuppressions } from "cdk-nag";
import { getStageConfig, VISIBILITY_TIMEOUT_FACTOR, type StageConfig } from "./config.js";
import { ORDERS_QUEUE, ORDERS_TABLE } from "@flash/core/contract/resources";

export interface OrdersOutputs {
  /** The orders queue and its DLQ: on SQS stages only (an MSK stage's orders travel on a topic, stacks/Kafka.ts). */
  queue?: sqs.Queue;
  dlq?: sqs.Queue;
  table: dynamodb.Table;
}

/**
 * The order pipeline's durable state: the `orders` queue (+ DLQ) between POST /buy and the
 * processor (queue.transport "sqs"), and the orders table the processor writes and GET /orders reads.
 */
export function Orders({ stack, app }: StackContext): OrdersOutputs {
  const config = getStageConfig(app.stage);
  const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
  const table = ordersTable(stack, app.logicalPrefixedName(ORDERS_TABLE.defaultName), config, removalPolicy);
  stack.addOutputs({ OrdersTable: table.tableName });
  if (config.queue.transport !== "sqs") return { table };

  const dlq = new sqs.Queue(stack, "OrdersDlq", {
    queueName: app.logicalPrefixedName(`${ORDERS_QUEUE.defaultName}${ORDERS_QUEUE.deadLetterSuffix}`),
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    // Resource policy denying every request not made over TLS (aws:SecureTransport false).
    enforceSSL: true,
    removalPolicy,
  });
  NagSuppressions.addResourceSuppressions(dlq, [
    {
      id: "Serverless-SQSRedrivePolicy",
      reason: "This is the dead-letter queue of the orders queue; a DLQ of the DLQ would only move the same messages again. DlqNotEmpty and DlqOldestMessageAge alarm on it.",
    },
  ]);

  const queue = new sqs.Queue(stack, "OrdersQueue", {
    queueName: app.logicalPrefixedName(ORDERS_QUEUE.defaultName),
    visibilityTimeout: Duration.seconds(config.processor.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR),
    retentionPeriod: Duration.days(config.queue.retentionDays),
    deadLetterQueue: { queue: dlq, maxReceiveCount: config.queue.maxReceiveCount },
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    removalPolicy,
  });

  stack.addOutputs({
    QueueUrl: queue.queueUrl,
    DlqUrl: dlq.queueUrl,
  });

  return { queue, dlq, table };
}

function ordersTable(stack: StackContext["stack"], tableName: string, config: StageConfig, removalPolicy: RemovalPolicy): dynamodb.Table {
  const table = new dynamodb.Table(stack, "OrdersTable", {
    tableName,
    partitionKey: { name: ORDERS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: config.pointInTimeRecovery },
    timeToLiveAttribute: ORDERS_TABLE.ttlAttribute,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    deletionProtection: config.retainData,
    removalPolicy,
  });
  if (!config.pointInTimeRecovery) {
    NagSuppressions.addResourceSuppressions(table, [
      {
        id: "AwsSolutions-DDB3",
        reason: "Point-in-time recovery is a per-stage setting (pointInTimeRecovery in stacks/config.ts), on for production and staging. The other stages are ephemeral and delete their table with the stage.",
      },
    ]);
  }

  // Orders by item, for reconcile and the sale report. Only the attributes they read are projected (cheaper writes).
  table.addGlobalSecondaryIndex({
    indexName: ORDERS_TABLE.byItem.name,
    partitionKey: { name: ORDERS_TABLE.byItem.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: ORDERS_TABLE.byItem.sortKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: [...ORDERS_TABLE.byItem.projected],
  });
  return table;
}
