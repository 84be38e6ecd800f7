import type { Kafka } from "kafkajs";

export interface TopicSpec {
  name: string;
  partitions: number;
  /** retention.ms; unset: the cluster's default. */
  retentionMs?: number;
}

export interface TopicChange {
  name: string;
  action: "created" | "partitions_added" | "unchanged";
  partitions: number;
}

/**
 * Make the topics exist with at least the given partitions: create the missing ones, add partitions to one that has
 * fewer (Kafka cannot take partitions away, and adding some moves keys to other partitions: see docs/kafka.md), and
 * never delete anything. The replication factor is the cluster's (MSK Serverless decides it). Safe to run again.
 */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<TopicChange[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          ...(t.retentionMs !== undefined ? { configEntries: [{ name: "retention.ms", value: String(t.retentionMs) }] } : {}),
        })),
      });
    }
    const present = topics.filter((t) => existing.has(t.name));
    const metadata = present.length ? await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) }) : { topics: [] };
    const counts = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
    const grow = present.filter((t) => (counts.get(t.name) ?? 0) < t.partitions);
    if (grow.length) await admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.name, count: t.partitions })) });
    return topics.map((t) => ({
      name: t.name,
      action: missing.includes(t) ? "created" : grow.includes(t) ? "partitions_added" : "unchanged",
      partitions: Math.max(t.partitions, counts.get(t.name) ?? 0),
    }));
  } finally {
    await admin.disconnect();
  }
}
