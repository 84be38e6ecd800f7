import { randomUUID } from "node:crypto";
import { Partitioners, type Admin, type Kafka, type KafkaMessage } from "kafkajs";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { kafkaClient } from "@flash/core/adapters/kafka/client";
import { ACKS_ALL, PRODUCER_SETTINGS, redrivenRecord } from "@flash/core/adapters/kafka/records";
import { ORDERS_TOPIC } from "@flash/core/contract/resources";
import type { Order } from "@flash/core/domain/order";
import type { KafkaTarget, Target } from "./target";

/**
 * `dlq` and `redrive` for the Kafka transport. The dead-letter topic is a log: reading it takes nothing away. What is
 * "in the DLQ" is what the redrive consumer group (`<dead-letter topic>-redrive`) has not moved yet: `dlq` lists the
 * records between that group's committed offsets and the end of each partition, and leaves the offsets alone;
 * `redrive` sends those records back to the orders topic (same key and body, the failure headers dropped) and
 * commits past each one after it is written. A crash in between sends a record twice: safe, as an order is
 * settled once however often it is delivered.
 */

export interface KafkaDeadLetter {
  partition: number;
  offset: string;
  request_id?: string;
  item_id?: string;
  user_id?: string;
  correlation_id?: string;
  failure_reason: string;
  source?: string;
  written_at: string;
  body: string;
}

type Print = (human: string, data: unknown) => void;

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();

function describe(partition: number, m: KafkaMessage): KafkaDeadLetter {
  const body = m.value?.toString("utf8") ?? "";
  let order: Partial<Order.Message> = {};
  try {
    order = JSON.parse(body);
  } catch {
    // unparseable: the failure reason says so
  }
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  return {
    partition,
    offset: m.offset,
    request_id: text(order.request_id),
    item_id: text(order.item_id),
    user_id: text(order.user_id),
    correlation_id: header(m, ORDERS_TOPIC.correlationHeader),
    // Without the header, the event source mapping wrote it (its on-failure destination): its retries ran out.
    failure_reason: header(m, ORDERS_TOPIC.failureReasonHeader) ?? "the event source mapping's retries ran out (on-failure destination)",
    source: header(m, ORDERS_TOPIC.sourceHeader),
    written_at: new Date(Number(m.timestamp)).toISOString(),
    body,
  };
}

function client(kafka: KafkaTarget, region: string): Kafka {
  return kafkaClient({
    KAFKA_BROKERS: kafka.brokers,
    KAFKA_IAM_AUTH: kafka.iam ? "true" : "false",
    AWS_REGION: region,
    AWS_CALL_TIMEOUT_MS: 10_000,
    clientId: "flash-sale-ops",
    ...(kafka.iam ? { credentials: defaultProvider() } : {}),
  });
}

/** Per partition of the dead-letter topic: where the redrive group stands, and where the partition ends now. */
async function pending(admin: Admin, topic: string, group: string): Promise<Map<number, { from: bigint; to: bigint }>> {
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = new Map(
    (await admin.fetchOffsets({ groupId: group, topics: [topic] })).flatMap((t) => t.partitions.map((p) => [p.partition, BigInt(p.offset)] as const)),
  );
  const out = new Map<number, { from: bigint; to: bigint }>();
  for (const p of ends) {
    const low = BigInt(p.low);
    const at = committed.get(p.partition) ?? -1n;
    const from = at >= low ? at : low;
    const to = BigInt(p.high);
    if (from < to) out.set(p.partition, { from, to });
  }
  return out;
}

/**
 * Read the given ranges, handing each message to `each`, with a consumer of a throwaway group (deleted afterwards):
 * reading commits nothing anywhere. Seeks every partition to its range's start once the group has its assignment, and
 * stops when every range is read (or `max` messages).
 */
async function readRanges(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  ranges: Map<number, { from: bigint; to: bigint }>,
  max: number,
  each: (partition: number, m: KafkaMessage) => Promise<void>,
): Promise<number> {
  if (!ranges.size) return 0;
  const group = `${topic}${ORDERS_TOPIC.redriveGroupSuffix}-read-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId: group, allowAutoTopicCreation: false });
  let seen = 0;
  const open = new Set(ranges.keys());
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, range] of ranges) consumer.seek({ topic, partition, offset: range.from.toString() });
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const range = ranges.get(partition);
        if (!range || !open.has(partition) || seen >= max) return;
        const offset = BigInt(message.offset);
        if (offset < range.from) return;
        if (offset < range.to) {
          await each(partition, message);
          seen++;
        }
        if (offset + 1n >= range.to) open.delete(partition);
        if (!open.size || seen >= max) finish();
      },
    });
    await Promise.race([finished, new Promise((r) => setTimeout(r, 60_000))]);
    return seen;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([group]).catch(() => undefined);
  }
}

export async function kafkaDlq(target: Target & { kafka: KafkaTarget }, max: number, print: Print): Promise<number> {
  const kafka = client(target.kafka, target.region);
  const topic = target.kafka.deadLetterTopic;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ranges = await pending(admin, topic, `${topic}${ORDERS_TOPIC.redriveGroupSuffix}`);
    const letters: KafkaDeadLetter[] = [];
    await readRanges(kafka, admin, topic, ranges, max, async (partition, m) => void letters.push(describe(partition, m)));
    const lines = letters.map(
      (d) =>
        `${d.request_id ?? "(unparseable)"}  item ${d.item_id ?? "-"}  correlation ${d.correlation_id ?? "-"}  at ${topic}-${d.partition}@${d.offset}` +
        `${d.source ? ` (from ${d.source})` : ""}\n    reason: ${d.failure_reason}`,
    );
    print(letters.length ? `${letters.length} message(s) in the dead-letter topic ${topic} not redriven yet:\n${lines.join("\n")}` : `the dead-letter topic ${topic} has nothing left to redrive`, letters);
    return 0;
  } finally {
    await admin.disconnect();
  }
}

export async function kafkaRedrive(target: Target & { kafka: KafkaTarget }, max: number, print: Print): Promise<number> {
  const kafka = client(target.kafka, target.region);
  const { topic: ordersTopic, deadLetterTopic: topic } = target.kafka;
  const group = `${topic}${ORDERS_TOPIC.redriveGroupSuffix}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ ...PRODUCER_SETTINGS, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await admin.connect();
  await producer.connect();
  try {
    const ranges = await pending(admin, topic, group);
    const requestIds: (string | undefined)[] = [];
    // The redrive group has no members: only its offsets, set here one record at a time, after the record is written.
    const moved = await readRanges(kafka, admin, topic, ranges, max, async (partition, m) => {
      const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v.at(-1) : v)]));
      await producer.send({ topic: ordersTopic, acks: ACKS_ALL, messages: [redrivenRecord(m.key?.toString("utf8") ?? null, m.value?.toString("utf8") ?? "", headers)] });
      // Written: the group moves past it. (A crash before this line sends it again next time; settling is idempotent.)
      await admin.setOffsets({ groupId: group, topic, partitions: [{ partition, offset: (BigInt(m.offset) + 1n).toString() }] });
      requestIds.push(describe(partition, m).request_id);
    });
    print(`redrove ${moved} message(s) from ${topic} to ${ordersTopic}`, { moved, request_ids: requestIds });
    return 0;
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}
