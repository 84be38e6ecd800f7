import { kafkaClient } from "@flash/core/adapters/kafka/client";
import { ensureTopics, type TopicSpec } from "@flash/core/adapters/kafka/topics";
import { loadConfig } from "@flash/core/contract/environment";

/**
 * Deploy time, on an MSK stage (stacks/Kafka.ts): make the orders topic and its dead-letter topic exist, through
 * CDK's custom-resource provider framework. Create and Update create what is missing and add partitions where the
 * stage config asks for more; nothing is ever deleted (Delete does nothing: a retained stage keeps its records, and
 * an ephemeral stage's cluster goes with its stack). It authenticates with IAM as its own role.
 */
interface TopicsEvent {
  RequestType: "Create" | "Update" | "Delete";
  PhysicalResourceId?: string;
  ResourceProperties: { Brokers: string; Topics: { name: string; partitions: string | number; retentionMs?: string | number }[] };
}

export async function handler(event: TopicsEvent): Promise<{ PhysicalResourceId: string; Data: Record<string, string> }> {
  const { Brokers, Topics } = event.ResourceProperties;
  const physicalResourceId = event.PhysicalResourceId ?? `kafka-topics:${Topics.map((t) => t.name).join(",")}`;
  if (event.RequestType === "Delete") return { PhysicalResourceId: physicalResourceId, Data: {} };
  // CloudFormation hands custom resources every property as a string.
  const topics: TopicSpec[] = Topics.map((t) => ({
    name: t.name,
    partitions: Number(t.partitions),
    ...(t.retentionMs !== undefined ? { retentionMs: Number(t.retentionMs) } : {}),
  }));
  const config = loadConfig();
  const kafka = kafkaClient({ ...config, KAFKA_BROKERS: Brokers, KAFKA_IAM_AUTH: "true", AWS_CALL_TIMEOUT_MS: 10_000, clientId: "flash-sale-topics" });
  const changes = await ensureTopics(kafka, topics);
  console.log(JSON.stringify({ message: "kafka topics", changes }));
  return { PhysicalResourceId: physicalResourceId, Data: Object.fromEntries(changes.map((c) => [c.name, `${c.action}:${c.partitions}`])) };
}
