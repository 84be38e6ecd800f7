import { inject } from "vitest";
import { closeRuntime, runtime } from "../../packages/core/src/runtime";
import { startStandIns, type AwsResources, type QueueSettings } from "../../packages/functions/src/local/stand-ins";

/**
 * fauxqs + dynalite in this worker, the run's redis-server, and the handlers' runtime wired to them
 * through the same environment variables Lambda gets.
 */
export async function useLocalServices(settings: QueueSettings & { env?: Record<string, string>; redisUrl?: string } = {}) {
  const resources: AwsResources = await startStandIns(settings);
  Object.assign(process.env, {
    REDIS_URL: settings.redisUrl ?? inject("redisUrl"),
    REDIS_CLUSTER: "false",
    QUEUE_URL: resources.queueUrl,
    DLQ_URL: resources.dlqUrl,
    ORDERS_TABLE: resources.table,
    AWS_ENDPOINT_URL_SQS: resources.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: resources.dynamoEndpoint,
    MAX_RECEIVE_COUNT: String(settings.maxReceiveCount ?? 3),
    ...settings.env,
  });
  await closeRuntime();
  return {
    resources,
    runtime,
    async stop() {
      await closeRuntime();
      await resources.stop();
    },
  };
}
