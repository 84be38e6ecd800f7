import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Order } from "../../domain/order";
import type { OrderHistory, OrderStore, Probe } from "../../domain/ports";
import { DependencyUnavailableError } from "../../domain/errors";
import { clientOptions, within, type AwsClientSettings } from "../aws/client";
import { ORDERS_TABLE } from "../../contract/resources";

/** Loaded by the first client built, not with this module, for the reason given in ../sqs/queue.ts. */
let sdk: Promise<typeof import("@aws-sdk/client-dynamodb")> | undefined;
const loadSdk = () => (sdk ??= import("@aws-sdk/client-dynamodb"));

export async function dynamoClient(settings: AwsClientSettings): Promise<DynamoDBClient> {
  const { DynamoDBClient } = await loadSdk();
  return new DynamoDBClient(clientOptions(settings, settings.AWS_ENDPOINT_URL_DYNAMODB, 3));
}

function toRecord(item: Record<string, AttributeValue>): Order.Record {
  return {
    request_id: item.request_id!.S!,
    user_id: item.user_id!.S!,
    item_id: item.item_id!.S!,
    amount: Number(item.amount!.N),
    status: item.status!.S as Order.Status,
    ...(item.reason?.S ? { reason: item.reason.S } : {}),
    created_at: item.created_at!.S!,
    updated_at: item.updated_at!.S!,
  };
}

/** Orders in DynamoDB, one item per request_id (ORDERS_TABLE in contract/resources.ts). */
export class DynamoOrderStore implements OrderStore, OrderHistory, Probe {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly table: string,
    private readonly retentionDays: number,
    private readonly timeoutMs = 3000,
  ) {}

  async get(requestId: string): Promise<Order.Record | undefined> {
    const { GetItemCommand } = await loadSdk();
    const out = await this.call((abortSignal) =>
      this.db.send(new GetItemCommand({ TableName: this.table, Key: { request_id: { S: requestId } }, ConsistentRead: true }), { abortSignal }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  /** Strongly consistent, like get(): BatchGetItem, 100 keys a call, unprocessed keys asked again. */
  async getMany(requestIds: string[]): Promise<Map<string, Order.Record>> {
    const { BatchGetItemCommand } = await loadSdk();
    const found = new Map<string, Order.Record>();
    for (let i = 0; i < requestIds.length; i += 100) {
      let keys: Record<string, AttributeValue>[] | undefined = requestIds.slice(i, i + 100).map((id) => ({ request_id: { S: id } }));
      for (let round = 0; keys?.length; round++) {
        if (round > 0) await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** round, 500))); // throttled: back off
        const out = await this.call((abortSignal) =>
          this.db.send(new BatchGetItemCommand({ RequestItems: { [this.table]: { Keys: keys!, ConsistentRead: true } } }), { abortSignal }),
        );
        for (const item of out.Responses?.[this.table] ?? []) found.set(item.request_id!.S!, toRecord(item));
        keys = out.UnprocessedKeys?.[this.table]?.Keys;
      }
    }
    return found;
  }

  /** Eventually consistent (a GSI): reconcile relies on the Redis ledger for orders settled moments ago. */
  async byItem(itemId: string): Promise<Order.Record[]> {
    const { QueryCommand } = await loadSdk();
    const records: Order.Record[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.call((abortSignal) =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: ORDERS_TABLE.byItem.name,
            KeyConditionExpression: "item_id = :item",
            ExpressionAttributeValues: { ":item": { S: itemId } },
            ExclusiveStartKey: start,
          }),
          { abortSignal },
        ),
      );
      for (const item of page.Items ?? []) records.push(toRecord(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return records;
  }

  async finalize(message: Order.Message, status: Order.FinalStatus, correlationId: string): Promise<"written" | "already_final"> {
    const { UpdateItemCommand, ConditionalCheckFailedException } = await loadSdk();
    const now = new Date();
    const values: Record<string, AttributeValue> = {
      ":user": { S: message.user_id },
      ":item": { S: message.item_id },
      ":amount": { N: String(message.amount) },
      ":status": { S: status },
      ":created": { S: message.accepted_at },
      ":updated": { S: now.toISOString() },
      ":corr": { S: correlationId },
      ":expires": { N: String(Math.floor(now.getTime() / 1000) + this.retentionDays * 86_400) },
      ":pending": { S: "PENDING" },
    };
    const reason = status === "COMPLETED" ? undefined : Order.REASONS[status];
    if (reason) values[":reason"] = { S: reason };
    try {
      await this.call((abortSignal) =>
        this.db.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { request_id: { S: message.request_id } },
            UpdateExpression:
              "SET user_id = :user, item_id = :item, amount = :amount, #status = :status, created_at = :created, " +
              "updated_at = :updated, correlation_id = :corr, #ttl = :expires" +
              (reason ? ", reason = :reason" : ""),
            // Status only moves forward: once final, a late or duplicate delivery changes nothing.
            ConditionExpression: "attribute_not_exists(#status) OR #status = :pending",
            ExpressionAttributeNames: { "#status": "status", "#ttl": ORDERS_TABLE.ttlAttribute },
            ExpressionAttributeValues: values,
          }),
          { abortSignal },
        ),
      );
      return "written";
    } catch (err) {
      if (err instanceof DependencyUnavailableError && err.cause instanceof ConditionalCheckFailedException) return "already_final";
      throw err;
    }
  }

  async check(): Promise<void> {
    const { DescribeTableCommand } = await loadSdk();
    await this.call((abortSignal) => this.db.send(new DescribeTableCommand({ TableName: this.table }), { abortSignal }));
  }

  private async call<T>(work: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await within(this.timeoutMs, work);
    } catch (err) {
      throw new DependencyUnavailableError("orders_table", err);
    }
  }
}
