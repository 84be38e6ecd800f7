import { inject } from "vitest";
import { loadConfig, type Config } from "@flash/core/contract/environment";
import { runtime, useRuntime, wire } from "@flash/core/runtime/wire";
import { LOCAL_CREDENTIALS, startStandIns, type AwsResources, type QueueSettings } from "@flash/local/stand-ins";

/**
 * fauxqs + dynalite in this worker, the run's redis-server, and the handlers' runtime wired to them with a
 * configuration value, as the local profile does.
 */
export async function useLocalServices(settings: Partial<QueueSettings> & { env?: Record<string, string>; redisUrl?: string } = {}) {
  const maxReceiveCount = settings.maxReceiveCount ?? 3;
  const resources: AwsResources = await startStandIns({ ...settings, maxReceiveCount });
  const config = loadConfig({
    REDIS_URL: settings.redisUrl ?? inject("redisUrl"),
    REDIS_CLUSTER: "false",
    QUEUE_URL: resources.queueUrl,
    DLQ_URL: resources.dlqUrl,
    ORDERS_TABLE: resources.table,
    AWS_ENDPOINT_URL_SQS: resources.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: resources.dynamoEndpoint,
    MAX_RECEIVE_COUNT: String(maxReceiveCount),
    ...settings.env,
  });
  /** Wire the handlers' runtime again, with some settings changed (e.g. another Redis). */
  const rewire = (overrides: Partial<Config> = {}) => useRuntime(wire({ ...config, ...overrides }, { credentials: LOCAL_CREDENTIALS }));
  await rewire();
  return {
    resources,
    config,
    runtime,
    rewire,
    async stop() {
      await useRuntime(undefined);
      await resources.stop();
    },
  };
}
