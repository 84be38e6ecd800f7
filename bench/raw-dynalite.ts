/**
 * Raw conditional writes against dynalite, for `npm run bench` (run in its own process):
 *   node --import tsx bench/raw-dynalite.ts <callers> <seconds>
 *
 * dynalite is started the way the engine starts it: startStandIns() from packages/local, i.e. dynalite (and an idle
 * fauxqs) in this process, on loopback, with the orders table created from contract/resources.ts; the callers use
 * the engine's own DynamoDB client (dynamoClient from core: same SDK, retries, timeouts) from this same process,
 * as the engine's processor calls the dynalite that lives in the engine's process. Each caller loops: one
 * UpdateItem per fresh request_id with the attributes the processor's finalize() writes and
 * `ConditionExpression: attribute_not_exists(#status)`.
 * Then, for the same time, a second figure: a consistent GetItem followed by that UpdateItem, which is the DynamoDB
 * work the processor does per order (Fulfilment.process reads the record, then finalize() writes it).
 * Prints one JSON line on stdout.
 */
import { GetItemCommand, UpdateItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { randomUUID } from "node:crypto";
import { dynamoClient } from "@flash/core/adapters/dynamodb/orders";
import { DEFAULTS } from "@flash/core/contract/environment";
import { ORDERS_TABLE } from "@flash/core/contract/resources";
import { LOCAL_CREDENTIALS, startStandIns } from "@flash/local/stand-ins";

const callers = Number(process.argv[2] ?? 40);
const seconds = Number(process.argv[3] ?? 5);

const standIns = await startStandIns({ maxReceiveCount: DEFAULTS.MAX_RECEIVE_COUNT });
const db = await dynamoClient({ AWS_REGION: DEFAULTS.AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB: standIns.dynamoEndpoint, AWS_CALL_TIMEOUT_MS: DEFAULTS.AWS_CALL_TIMEOUT_MS, credentials: LOCAL_CREDENTIALS });

function write(requestId: string) {
  const now = new Date();
  const values: Record<string, AttributeValue> = {
    ":user": { S: `u-${requestId.slice(0, 12)}` },
    ":item": { S: "raw" },
    ":amount": { N: "1" },
    ":status": { S: "COMPLETED" },
    ":created": { S: now.toISOString() },
    ":updated": { S: now.toISOString() },
    ":corr": { S: requestId },
    ":expires": { N: String(Math.floor(now.getTime() / 1000) + DEFAULTS.ORDER_RETENTION_DAYS * 86_400) },
  };
  return db.send(
    new UpdateItemCommand({
      TableName: standIns.table,
      Key: { [ORDERS_TABLE.partitionKey]: { S: requestId } },
      UpdateExpression:
        "SET user_id = :user, item_id = :item, amount = :amount, #status = :status, created_at = :created, updated_at = :updated, correlation_id = :corr, #ttl = :expires",
      ConditionExpression: "attribute_not_exists(#status)",
      ExpressionAttributeNames: { "#status": "status", "#ttl": ORDERS_TABLE.ttlAttribute },
      ExpressionAttributeValues: values,
    }),
  );
}

const read = (requestId: string) =>
  db.send(new GetItemCommand({ TableName: standIns.table, Key: { [ORDERS_TABLE.partitionKey]: { S: requestId } }, ConsistentRead: true }));

/** `callers` loops for `ms`; returns operations per second over the wall time. */
async function run(ms: number, op: (requestId: string) => Promise<unknown>) {
  let done = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        try {
          await op(randomUUID());
          done++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { per_second: Math.round(done / elapsed), operations: done, errors, seconds: +elapsed.toFixed(2) };
}

try {
  await run(2000, write); // warm-up: JIT, sockets
  const writes = await run(seconds * 1000, write);
  const readThenWrite = await run(seconds * 1000, async (rid) => {
    await read(rid);
    await write(rid);
  });
  console.log(JSON.stringify({ callers, conditional_writes: writes, get_then_conditional_write: readThenWrite }));
} finally {
  db.destroy();
  await standIns.stop();
}
