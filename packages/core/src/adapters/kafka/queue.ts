import { Partitioners, type Admin, type Kafka, type Producer } from "kafkajs";
import type { Order } from "../../domain/order";
import type { DeadLetterOrigin, OrderQueue, Probe } from "../../domain/ports";
import { DependencyUnavailableError } from "../../domain/errors";
import { deadline, kafkaClient, type KafkaClientSettings } from "./client";
import { ACKS_ALL, deadLetterRecord, orderRecord, PRODUCER_SETTINGS, type OutgoingRecord } from "./records";

export interface KafkaTopics {
  orders: string;
  deadLetter: string;
}

/**
 * The orders queue on Kafka: an idempotent producer with acks=all writes each accepted order to the orders topic,
 * keyed by item_id (records.ts), and dead letters to the dead-letter topic. The producer connects on first use and
 * stays connected; a failed connect is tried again by the next call. Any failure, or no answer within the timeout,
 * is "queue unavailable", as with SQS: the buy call withdraws its admission and answers 503.
 *
 * The runtime imports this module only on a stage whose transport is Kafka (runtime/wire.ts), so kafkajs is loaded
 * by the functions of such a stage and by no other (the bundles keep it in a chunk of its own).
 */
export class KafkaOrderQueue implements OrderQueue, Probe {
  private readonly producer: Producer;
  private producerReady?: Promise<void>;
  private admin?: Admin;
  private adminReady?: Promise<Admin>;

  constructor(
    private readonly kafka: Kafka,
    readonly topics: KafkaTopics,
    private readonly timeoutMs = 3000,
  ) {
    // The Java client's partitioner (murmur2 of the key): an item maps to the same partition whoever writes it.
    this.producer = kafka.producer({ ...PRODUCER_SETTINGS, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  }

  async enqueue(message: Order.Message, correlationId: string): Promise<void> {
    await this.send(this.topics.orders, orderRecord(message, correlationId));
  }

  async deadLetter(body: string, reason: string, correlationId?: string, origin?: DeadLetterOrigin): Promise<void> {
    await this.send(this.topics.deadLetter, deadLetterRecord(body, { reason, correlationId, key: origin?.key, source: origin?.source }));
  }

  /** The orders topic's metadata, read for real: the brokers answer and the topic exists. */
  async check(): Promise<void> {
    try {
      await deadline(this.timeoutMs, async () => {
        const admin = await this.connectedAdmin();
        await admin.fetchTopicMetadata({ topics: [this.topics.orders] });
      });
    } catch (err) {
      throw new DependencyUnavailableError("queue", err);
    }
  }

  async destroy(): Promise<void> {
    await Promise.allSettled([this.producer.disconnect(), this.admin?.disconnect()]);
  }

  private async send(topic: string, record: OutgoingRecord): Promise<void> {
    try {
      await deadline(this.timeoutMs, async () => {
        await this.connectedProducer();
        await this.producer.send({ topic, acks: ACKS_ALL, timeout: this.timeoutMs, messages: [record] });
      });
    } catch (err) {
      throw new DependencyUnavailableError("queue", err);
    }
  }

  private connectedProducer(): Promise<void> {
    return (this.producerReady ??= this.producer.connect().catch((err: unknown) => {
      this.producerReady = undefined;
      throw err;
    }));
  }

  private connectedAdmin(): Promise<Admin> {
    return (this.adminReady ??= (async () => {
      this.admin ??= this.kafka.admin();
      await this.admin.connect();
      return this.admin;
    })().catch((err: unknown) => {
      this.adminReady = undefined;
      throw err;
    }));
  }
}

/** The adapter as the runtime builds it from its configuration. */
export function kafkaOrderQueue(settings: KafkaClientSettings & { KAFKA_TOPIC: string; KAFKA_DEAD_LETTER_TOPIC: string }): KafkaOrderQueue {
  return new KafkaOrderQueue(
    kafkaClient(settings),
    { orders: settings.KAFKA_TOPIC, deadLetter: settings.KAFKA_DEAD_LETTER_TOPIC },
    settings.AWS_CALL_TIMEOUT_MS,
  );
}
