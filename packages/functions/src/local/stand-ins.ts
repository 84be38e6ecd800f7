import type { Server } from "node:http";
import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { BY_ITEM_ATTRIBUTES, BY_ITEM_INDEX, dynamoClient } from "@flash/core/adapters/dynamo";
import { sqsClient } from "@flash/core/adapters/sqs";

export interface AwsResources {
  sqsEndpoint?: string;
  dynamoEndpoint?: string;
  queueUrl: string;
  dlqUrl: string;
  table: string;
  stop(): Promise<void>;
}

export interface QueueSettings {
  queueName?: string;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  table?: string;
}

/** fauxqs (SQS) and dynalite (DynamoDB) in this process, with the queue, its DLQ and the orders table created. */
export async function startStandIns(settings: QueueSettings = {}): Promise<AwsResources> {
  const { startFauxqs } = await import("fauxqs");
  const sqsServer = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1" });
  const dynalite = (await import("dynalite")).default;
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, "127.0.0.1", () => resolve()));
  const dynamoEndpoint = `http://127.0.0.1:${(dynamo.address() as { port: number }).port}`;
  const resources = await createResources({ sqsEndpoint: `http://127.0.0.1:${sqsServer.port}`, dynamoEndpoint, ...settings });
  return {
    ...resources,
    async stop() {
      await sqsServer.stop();
      await new Promise((r) => dynamo.close(r));
    },
  };
}

/** Create the queue with its redrive DLQ and the orders table if they do not exist (stand-ins or LocalStack). */
export async function createResources(options: QueueSettings & { sqsEndpoint?: string; dynamoEndpoint?: string }) {
  const region = process.env.AWS_REGION ?? "us-east-1";
  const sqs = sqsClient({ AWS_REGION: region, AWS_ENDPOINT_URL_SQS: options.sqsEndpoint });
  const db = dynamoClient({ AWS_REGION: region, AWS_ENDPOINT_URL_DYNAMODB: options.dynamoEndpoint });
  const name = options.queueName ?? "orders";
  const table = options.table ?? "orders";
  try {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq`, Attributes: { MessageRetentionPeriod: "1209600" } }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 3 }),
        },
      }),
    );
    try {
      await db.send(new DescribeTableCommand({ TableName: table }));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
      await db.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [
            { AttributeName: "request_id", AttributeType: "S" },
            { AttributeName: "item_id", AttributeType: "S" },
          ],
          KeySchema: [{ AttributeName: "request_id", KeyType: "HASH" }],
          // The same index as stacks/Orders.ts: orders by item, for reconcile and the sale report.
          GlobalSecondaryIndexes: [
            {
              IndexName: BY_ITEM_INDEX,
              KeySchema: [
                { AttributeName: "item_id", KeyType: "HASH" },
                { AttributeName: "request_id", KeyType: "RANGE" },
              ],
              Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: BY_ITEM_ATTRIBUTES },
            },
          ],
        }),
      );
    }
    return { sqsEndpoint: options.sqsEndpoint, dynamoEndpoint: options.dynamoEndpoint, queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl!, table };
  } finally {
    sqs.destroy();
    db.destroy();
  }
}
