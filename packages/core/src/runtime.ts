import { loadConfig, type Config } from "./config";
import {
  connectRedis, RedisInventory, RedisRequestRegistry, RedisInventoryAudit, RedisProbe, RedisRateLimiter, RedisSaleStats, type RedisClient,
} from "./adapters/redis";
import { sqsClient, SqsOrderQueue } from "./adapters/sqs";
import { dynamoClient, DynamoOrderStore } from "./adapters/dynamo";
import { SimulatedPayments } from "./adapters/payments";
import type { Sweeper } from "./sweeper";
import type { Buy } from "./buy";
import type { Fulfilment } from "./fulfilment";
import type { InventoryAudit, OrderHistory, Probe, SaleStats } from "./ports";

/** Everything a handler needs, wired from the environment once per cold start. */
export interface Runtime extends Buy.Deps, Fulfilment.Deps, Sweeper.Deps {
  config: Config;
  redis: RedisClient;
  queue: SqsOrderQueue;
  audit: InventoryAudit;
  history: OrderHistory;
  stats: SaleStats;
  probes: { redis: Probe; queue: Probe; orders_table: Probe };
  close(): Promise<void>;
}

let current: Runtime | undefined;

export function runtime(): Runtime {
  return (current ??= wire(loadConfig()));
}

/** Drop connections; the next runtime() call wires afresh from the environment (local profile and tests). */
export async function closeRuntime(): Promise<void> {
  const r = current;
  current = undefined;
  await r?.close();
}

function wire(config: Config): Runtime {
  const redis = connectRedis(config);
  const sqs = sqsClient(config);
  const db = dynamoClient(config);
  const queue = new SqsOrderQueue(sqs, config.QUEUE_URL, config.DLQ_URL, config.AWS_CALL_TIMEOUT_MS);
  const orders = new DynamoOrderStore(db, config.ORDERS_TABLE, config.ORDER_RETENTION_DAYS, config.AWS_CALL_TIMEOUT_MS);
  const declineUsers = new Set(config.PAYMENT_DECLINE_USERS.split(",").map((u) => u.trim()).filter(Boolean));
  return {
    config,
    redis,
    inventory: new RedisInventory(redis, config.ADMISSION_TAKEOVER_MS),
    requests: new RedisRequestRegistry(redis, config.IDEMPOTENCY_TTL_SECONDS),
    rateLimiter: new RedisRateLimiter(redis, config.RATE_LIMIT_MAX_REQUESTS, config.RATE_LIMIT_WINDOW_SECONDS),
    queue,
    orders,
    audit: new RedisInventoryAudit(redis),
    history: orders,
    stats: new RedisSaleStats(redis),
    payments: new SimulatedPayments({ failureRate: config.PAYMENT_FAILURE_RATE, declineUsers }),
    probes: { redis: new RedisProbe(redis), queue, orders_table: orders },
    async close() {
      redis.disconnect();
      sqs.destroy();
      db.destroy();
    },
  };
}

// On Lambda, wire during init: the Redis connection opens before the first request (and ahead of the sale under
// provisioned concurrency), and a bad configuration fails the init loudly. Locally and in tests the environment
// is set after import, so wiring stays lazy there.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) runtime();
