import { loadConfig, onLambda, type Config } from "../contract/environment";
import { connectRedis } from "../adapters/redis/client";
import { RedisProbe, type RedisClient } from "../adapters/redis/scripts";
import { RedisInventory } from "../adapters/redis/inventory";
import { RedisInventoryAudit } from "../adapters/redis/audit";
import { RedisRequestRegistry } from "../adapters/redis/requests";
import { RedisSaleStats } from "../adapters/redis/stats";
import { RedisDeliveryAttempts } from "../adapters/redis/attempts";
import { sqsClient, SqsOrderQueue } from "../adapters/sqs/queue";
import { dynamoClient, DynamoOrderStore } from "../adapters/dynamodb/orders";
import { SimulatedPayments } from "../adapters/payments/simulated";
import type { AwsCredentials } from "../adapters/aws/client";
import type { Buy } from "../domain/buy";
import type { Fulfilment } from "../domain/fulfilment";
import type { Sweeper } from "../domain/sweeper";
import type { DeliveryAttempts, InventoryAudit, OrderHistory, OrderQueue, OrderStore, Probe, SaleStats } from "../domain/ports";
import { CircuitBreaker, type BreakerState } from "../domain/breaker";
import { SoldOutCache } from "../domain/sold-out";
import { Metric } from "../contract/metrics";
import { count, useStage } from "./telemetry";

const BREAKER_METRIC: Record<BreakerState, string> = {
  open: Metric.QueueCircuitOpened,
  half_open: Metric.QueueCircuitHalfOpened,
  closed: Metric.QueueCircuitClosed,
};

/**
 * The clients a runtime builds: the queue's and the orders table's (DynamoDB). "sqs" names the orders queue's client,
 * whichever transport carries the queue: the SQS client, or on a stage whose transport is Kafka (QUEUE_TRANSPORT)
 * the Kafka producer, and then no SQS client at all. "kafka" says the same, for a handler that only runs on Kafka.
 */
export type AwsClient = "sqs" | "kafka" | "dynamodb";

/** Everything a handler needs: the domain's ports on real adapters, and the configuration they were built from. */
export interface Runtime extends Buy.Deps, Fulfilment.Deps, Sweeper.Deps {
  config: Config;
  redis: RedisClient;
  queue: OrderQueue & Probe;
  orders: OrderStore & OrderHistory & Probe;
  audit: InventoryAudit;
  history: OrderHistory;
  stats: SaleStats;
  /** Failures per delivered record, counted by the Kafka processor (SQS counts receives itself). */
  attempts: DeliveryAttempts;
  probes: { redis: Probe; queue: Probe; orders_table: Probe };
  queueBreaker: CircuitBreaker;
  /** Load and build these SDK clients now; a client not prepared is built on its adapter's first call. */
  prepare(clients: readonly AwsClient[]): Promise<void>;
  close(): Promise<void>;
}

export interface WireOptions {
  /**
   * Credentials for the SQS and DynamoDB clients; the local stand-ins accept any. Default: the SDK's chain. (A Kafka
   * client with IAM authentication signs with the configuration's AWS_ACCESS_KEY_ID..., as the Redis token does.)
   */
  credentials?: AwsCredentials;
}

/** Made on the first call, then kept. */
const once = <T>(make: () => Promise<T>) => {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
};

/**
 * Build the runtime from a configuration value. The SQS and DynamoDB adapters are built on first use, or ahead of it
 * by prepare(): building one loads its SDK client, and a function should load only the clients it uses (initClients).
 */
export function wire(config: Config, options: WireOptions = {}): Runtime {
  useStage(config.STAGE);
  const redis = connectRedis(config);
  const settings = { ...config, credentials: options.credentials };
  const awsClients: Promise<{ destroy(): void | Promise<void> }>[] = []; // built or being built, for close()
  const build = <C extends { destroy(): void | Promise<void> }>(client: Promise<C>) => (awsClients.push(client), client);
  // The transport: SQS, or Kafka, whose adapter (and kafkajs with it) is imported only here, on a Kafka stage.
  const queue = once(async (): Promise<OrderQueue & Probe> => {
    if (config.QUEUE_TRANSPORT === "kafka") {
      const { kafkaOrderQueue } = await import("../adapters/kafka/queue");
      return build(Promise.resolve(kafkaOrderQueue(config)));
    }
    return new SqsOrderQueue(await build(sqsClient(settings)), config.QUEUE_URL, config.DLQ_URL, config.AWS_CALL_TIMEOUT_MS);
  });
  const orders = once(
    async () => new DynamoOrderStore(await build(dynamoClient(settings)), config.ORDERS_TABLE, config.ORDER_RETENTION_DAYS, config.AWS_CALL_TIMEOUT_MS),
  );
  // The ports the domain sees: each call goes to the adapter, built by the first one unless prepare() did it before.
  const queuePort: Runtime["queue"] = {
    enqueue: async (message, correlationId) => (await queue()).enqueue(message, correlationId),
    deadLetter: async (body, reason, correlationId, origin) => (await queue()).deadLetter(body, reason, correlationId, origin),
    check: async () => (await queue()).check(),
  };
  const ordersPort: Runtime["orders"] = {
    get: async (requestId) => (await orders()).get(requestId),
    getMany: async (requestIds) => (await orders()).getMany(requestIds),
    finalize: async (message, status, correlationId) => (await orders()).finalize(message, status, correlationId),
    byItem: async (itemId) => (await orders()).byItem(itemId),
    check: async () => (await orders()).check(),
  };
  const declineUsers = new Set(config.PAYMENT_DECLINE_USERS.split(",").map((u) => u.trim()).filter(Boolean));
  return {
    config,
    redis,
    inventory: new RedisInventory(redis, {
      takeoverMs: config.ADMISSION_TAKEOVER_MS,
      rateLimit: { maxRequests: config.RATE_LIMIT_MAX_REQUESTS, windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS },
    }),
    requests: new RedisRequestRegistry(redis, config.IDEMPOTENCY_TTL_SECONDS),
    soldOut: new SoldOutCache(config.SOLD_OUT_CACHE_MS),
    queue: queuePort,
    orders: ordersPort,
    audit: new RedisInventoryAudit(redis),
    history: ordersPort,
    stats: new RedisSaleStats(redis),
    attempts: new RedisDeliveryAttempts(redis),
    payments: new SimulatedPayments({ failureRate: config.PAYMENT_FAILURE_RATE, declineUsers }),
    queueBreaker: new CircuitBreaker(
      {
        failureThreshold: config.CIRCUIT_BREAKER_FAILURE_THRESHOLD,
        successThreshold: config.CIRCUIT_BREAKER_SUCCESS_THRESHOLD,
        baseTimeoutMs: config.CIRCUIT_BREAKER_BASE_TIMEOUT * 1000,
        maxTimeoutMs: config.CIRCUIT_BREAKER_MAX_TIMEOUT * 1000,
      },
      (state) => count(BREAKER_METRIC[state]),
    ),
    probes: { redis: new RedisProbe(redis), queue: queuePort, orders_table: ordersPort },
    async prepare(clients) {
      await Promise.all(clients.map((client) => (client === "dynamodb" ? orders() : queue())));
    },
    async close() {
      redis.disconnect();
      for (const client of await Promise.allSettled(awsClients)) if (client.status === "fulfilled") await client.value.destroy();
    },
  };
}

let current: Runtime | undefined;

/** The runtime the handlers use: on Lambda, wired from the environment at init; locally, the one set with useRuntime(). */
export function runtime(): Runtime {
  return (current ??= wire(loadConfig()));
}

/** Hand the handlers a runtime wired elsewhere (the local profile, tests); the previous one is closed. */
export async function useRuntime(next: Runtime | undefined): Promise<void> {
  const previous = current;
  current = next;
  if (previous && previous !== next) await previous.close();
}

/** Drop connections; the next runtime() call wires afresh. */
export const closeRuntime = () => useRuntime(undefined);

/**
 * Each handler module awaits this at its top level with the AWS SDK clients it uses. On Lambda they are loaded and
 * built during init, which provisioned concurrency pre-warms, rather than in the first request; a client not named
 * is never loaded unless something calls its adapter. Locally and in tests the runtime is handed over with
 * useRuntime() once every handler is imported, and this does nothing.
 */
export async function initClients(...clients: AwsClient[]): Promise<void> {
  if (onLambda()) await runtime().prepare(clients);
}

// On Lambda, wire during init: the Redis connection opens before the first request (and ahead of the sale under
// provisioned concurrency), and a bad configuration fails the init loudly. Locally and in tests the runtime is
// handed over with useRuntime(), so wiring stays lazy there.
if (onLambda()) runtime();
