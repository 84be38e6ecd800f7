import type { Consumer, Kafka, KafkaMessage, Producer } from "kafkajs";
import { Partitioners } from "kafkajs";
import type { Context, MSKEvent } from "aws-lambda";
import { ACKS_ALL, deadLetterRecord, PRODUCER_SETTINGS, recordSource } from "@flash/core/adapters/kafka/records";
import { ORDERS_TOPIC } from "@flash/core/contract/resources";
import type { KafkaBatchResponse } from "@flash/functions/queue/msk-event";
import { lambdaContext } from "./lambda-context";

export interface KafkaPollerOptions {
  kafka: Kafka;
  topic: string;
  deadLetterTopic: string;
  groupId: string;
  handler: (event: MSKEvent, context: Context) => Promise<KafkaBatchResponse | void>;
  /** Records per invocation, as the mapping's BatchSize. */
  batchSize?: number;
  /** Partitions worked on at once. */
  concurrency?: number;
  /** As the mapping's MaximumRetryAttempts: then the failed records go to the dead-letter topic (its on-failure destination). */
  maxRetryAttempts?: number;
  /** The first pause before a retry; doubled each time, up to 2 s. */
  retryDelayMs?: number;
}

const b64 = (buffer: Buffer | null) => (buffer == null ? null : buffer.toString("base64"));

/** A batch of one partition's messages as the MSK event source mapping hands it over (see packages/functions/src/queue/msk-event.ts). */
export function mskEvent(topic: string, partition: number, messages: KafkaMessage[], bootstrapServers: string): MSKEvent {
  return {
    eventSource: "aws:kafka",
    eventSourceArn: "arn:aws:kafka:local:000000000000:cluster/local/00000000-0000-0000-0000-000000000000-1",
    bootstrapServers,
    records: {
      [`${topic}-${partition}`]: messages.map((m) => ({
        topic,
        partition,
        offset: Number(m.offset),
        timestamp: Number(m.timestamp),
        timestampType: "CREATE_TIME" as const,
        key: b64(m.key) as string,
        value: b64(m.value) as string,
        headers: Object.entries(m.headers ?? {}).flatMap(([name, value]) =>
          (Array.isArray(value) ? value : [value]).filter((v) => v !== undefined).map((v) => ({ [name]: [...Buffer.from(v as Buffer | string)] })),
        ),
      })),
    },
  };
}

/**
 * Does locally what the MSK event source mapping does on AWS, against any Kafka-protocol broker: reads the orders
 * topic in a consumer group, hands each partition's records to the handler in batches, and honours its partial batch
 * response: everything before the reported offset is committed, and the partition goes on from that offset (after a
 * pause) while the other partitions carry on. After `maxRetryAttempts` retries without progress, the failed records go
 * to the dead-letter topic, as the mapping's on-failure destination would send them, and the partition moves past them.
 */
export class KafkaPoller {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private running = false;
  batches = 0;

  constructor(private readonly options: KafkaPollerOptions) {
    this.consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
    this.producer = options.kafka.producer({ ...PRODUCER_SETTINGS, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  }

  async start(): Promise<this> {
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrency ?? 4,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
        const size = this.options.batchSize ?? 10;
        for (let i = 0; i < batch.messages.length; i += size) {
          const chunk = batch.messages.slice(i, i + size);
          let start = 0;
          let retries = 0;
          while (start < chunk.length) {
            if (!this.running || !isRunning() || isStale()) return;
            const resume = await this.deliver(batch.topic, batch.partition, chunk.slice(start));
            const next = resume === undefined ? chunk.length : chunk.findIndex((m) => Number(m.offset) === resume);
            const at = next < 0 ? start : next; // an offset not in the batch: as a failure of the whole batch
            if (at > 0) {
              resolveOffset(chunk[at - 1]!.offset);
              await commitOffsetsIfNecessary();
            }
            if (at >= chunk.length) break;
            retries = at > start ? 0 : retries + 1;
            start = at;
            if (retries > (this.options.maxRetryAttempts ?? 10)) {
              await this.discard(batch.topic, batch.partition, chunk.slice(start));
              resolveOffset(chunk[chunk.length - 1]!.offset);
              await commitOffsetsIfNecessary();
              break;
            }
            await new Promise((r) => setTimeout(r, Math.min(2000, (this.options.retryDelayMs ?? 100) * 2 ** Math.max(0, retries - 1))));
            await heartbeat();
          }
        }
      },
    });
    return this;
  }

  /** Stop reading; the batch being handled finishes first. */
  async stop(): Promise<void> {
    this.running = false;
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
  }

  /** One invocation: the offset the partition must go on from, or undefined when every record was handled. */
  private async deliver(topic: string, partition: number, messages: KafkaMessage[]): Promise<number | undefined> {
    const event = mskEvent(topic, partition, messages, "local");
    this.batches++;
    try {
      const response = await this.options.handler(event, lambdaContext("processor"));
      const offsets = (response?.batchItemFailures ?? [])
        .filter((f) => f.itemIdentifier.partition === `${topic}-${partition}`)
        .map((f) => Number(f.itemIdentifier.offset));
      return offsets.length ? Math.min(...offsets) : undefined;
    } catch {
      return Number(messages[0]!.offset); // a thrown handler fails the whole batch
    }
  }

  /** The on-failure destination: the records as they were, with why and where from. */
  private async discard(topic: string, partition: number, messages: KafkaMessage[]): Promise<void> {
    await this.producer.send({
      topic: this.options.deadLetterTopic,
      acks: ACKS_ALL,
      messages: messages.map((m) => {
        const record = deadLetterRecord(m.value?.toString("utf8") ?? "", {
          reason: `event source mapping: retries exhausted (MaximumRetryAttempts ${this.options.maxRetryAttempts ?? 10})`,
          key: m.key?.toString("utf8") ?? null,
          source: recordSource(topic, partition, m.offset),
          correlationId: m.headers?.[ORDERS_TOPIC.correlationHeader]?.toString(),
        });
        return record;
      }),
    });
  }
}
