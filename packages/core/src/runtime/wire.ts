import { loadConfig, onLambda, type Config } from "../contract/environment";
import { connectRedis } from "../adapters/redis/client";
import { RedisProbe, type RedisClient } from "../adapters/redis/scripts";
import { RedisInventory } from "../adapters/redis/inventory";
import { RedisInventoryAudit } from "../adapters/redis/audit";
import { RedisRequestRegistry } from "../adapters/redis/requests";
import { RedisSaleStats } from "../adapters/redis/stats";
import { sqsClient, SqsOrderQueue } from "../adapters/sqs/queue";
import { dynamoClient, DynamoOrderStore } from "../adapters/dynamodb/orders";
import { SimulatedPayments } from "../adapters/payments/simulated";
import type { AwsCredentials } from "../adapters/aws/client";
import type { Buy } from "../domain/buy";
import type { Fulfilment } from "../domain/fulfilment";
import type { Sweeper } from "../domain/sweeper";
import type { InventoryAudit, OrderHistory, Probe, SaleStats } from "../domain/ports";
import { CircuitBreaker, type BreakerState } from "../domain/breaker";
import { SoldOutCache } from "../domain/sold-out";
import { Metric } from "../contract/metrics";
import { count, useStage } from "./telemetry";

const BREAKER_METRIC: Record<BreakerState, string> = {
  open: Metric.QueueCircuitOpened,
  half_open: Metric.QueueCircuitHalfOpened,
  closed: Metric.QueueCircuitClosed,
};

/** Everything a handler needs: the domain's ports on real adapters, and the configuration they were built from. */
export interface Runtime extends Buy.Deps, Fulfilment.Deps, Sweeper.Deps {
  config: Config;
  redis: RedisClient;
  queue: SqsOrderQueue;
  audit: InventoryAudit;
  history: OrderHistory;
  stats: SaleStats;
  probes: { redis: Probe; queue: Probe; orders_table: Probe };
  queueBreaker: CircuitBreaker;
  close(): Promise<void>;
}

export interface WireOptions {
  /** Credentials for the SQS and DynamoDB clients; the local stand-ins accept any. Default: the SDK's chain. */
  credentials?: AwsCredentials;
}

/** Build the runtime from a configuration value. */
export function wire(config: Config, options: WireOptions = {}): Runtime {
  useStage(config.STAGE);
  const redis = connectRedis(config);
  const sqs = sqsClient({ ...config, credentials: options.credentials });
  const db = dynamoClient({ ...config, credentials: options.credentials });
  const queue = new SqsOrderQueue(sqs, config.QUEUE_URL, config.DLQ_URL, config.AWS_CALL_TIMEOUT_MS);
  const orders = new DynamoOrderStore(db, config.ORDERS_TABLE, config.ORDER_RETENTION_DAYS, config.AWS_CALL_TIMEOUT_MS);
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
    queue,
    orders,
    audit: new RedisInventoryAudit(redis),
    history: orders,
    stats: new RedisSaleStats(redis),
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
    probes: { redis: new RedisProbe(redis), queue, orders_table: orders },
    async close() {
      redis.disconnect();
      sqs.destroy();
      db.destroy();
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

// On Lambda, wire during init: the Redis connection opens before the first request (and ahead of the sale under
// provisioned concurrency), and a bad configuration fails the init loudly. Locally and in tests the runtime is
// handed over with useRuntime(), so wiring stays lazy there.
if (onLambda()) runtime();
