import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { dynamoClient } from "@flash/core/adapters/dynamodb/orders";
import { sqsClient } from "@flash/core/adapters/sqs/queue";
import { ORDERS_QUEUE, ORDERS_TABLE } from "@flash/core/contract/resources";

/** The stand-ins accept any credentials; these keep the SDK from looking for real ones. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

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
  maxReceiveCount: number;
  visibilityTimeoutSeconds?: number;
  table?: string;
  region?: string;
}

/** fauxqs (SQS) and dynalite (DynamoDB) in this process, on loopback, with the queue, its DLQ and the orders table created. */
export async function startStandIns(settings: QueueSettings): Promise<AwsResources> {
  // fauxqs's startFauxqs() listens on every interface whatever host it is given; its app listens where we say.
  const { buildApp } = await import("fauxqs");
  const sqsApp = buildApp({ logger: false });
  const sqsPort = Number(new URL(await sqsApp.listen({ port: 0, host: "127.0.0.1" })).port);
  const dynalite = (await import("dynalite")).default;
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, "127.0.0.1", () => resolve()));
  const dynamoEndpoint = `http://127.0.0.1:${(dynamo.address() as { port: number }).port}`;
  const resources = await createResources({ sqsEndpoint: `http://127.0.0.1:${sqsPort}`, dynamoEndpoint, credentials: LOCAL_CREDENTIALS, ...settings });
  return {
    ...resources,
    async stop() {
      await sqsApp.close();
      await new Promise((r) => dynamo.close(r));
    },
  };
}

/** Create the queue with its redrive DLQ and the orders table if they do not exist (stand-ins or LocalStack). */
export async function createResources(
  options: QueueSettings & { sqsEndpoint?: string; dynamoEndpoint?: string; credentials?: typeof LOCAL_CREDENTIALS },
) {
  const region = options.region ?? "us-east-1";
  const sqs = await sqsClient({ AWS_REGION: region, AWS_ENDPOINT_URL_SQS: options.sqsEndpoint, credentials: options.credentials });
  const db = await dynamoClient({ AWS_REGION: region, AWS_ENDPOINT_URL_DYNAMODB: options.dynamoEndpoint, credentials: options.credentials });
  const name = options.queueName ?? ORDERS_QUEUE.defaultName;
  const table = options.table ?? ORDERS_TABLE.defaultName;
  try {
    const dlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${name}${ORDERS_QUEUE.deadLetterSuffix}`,
        Attributes: { MessageRetentionPeriod: String(ORDERS_QUEUE.deadLetterRetentionSeconds) },
      }),
    );
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? ORDERS_QUEUE.localVisibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount }),
        },
      }),
    );
    try {
      await db.send(new DescribeTableCommand({ TableName: table }));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
      const { partitionKey, byItem } = ORDERS_TABLE;
      await db.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [
            { AttributeName: partitionKey, AttributeType: "S" },
            { AttributeName: byItem.partitionKey, AttributeType: "S" },
          ],
          KeySchema: [{ AttributeName: partitionKey, KeyType: "HASH" }],
          GlobalSecondaryIndexes: [
            {
              IndexName: byItem.name,
              KeySchema: [
                { AttributeName: byItem.partitionKey, KeyType: "HASH" },
                { AttributeName: byItem.sortKey, KeyType: "RANGE" },
              ],
              Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: [...byItem.projected] },
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
