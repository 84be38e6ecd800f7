/**
 * Typed per-stage configuration for the flash-sale stacks.
 *
 * `production` and `staging` have their own entries; every other stage (dev, personal
 * stages, PR previews, ...) gets `defaultConfig`. Data resources (table, queues, cache)
 * are retained on `production`/`staging` and destroyed on every other stage.
 */

/** Lower-case keys of `aws-logs` `RetentionDays` that this app uses. */
export type LogRetention =
  | "one_week"
  | "two_weeks"
  | "one_month"
  | "three_months"
  | "six_months"
  | "one_year";

export interface StageConfig {
  /** Keep table, queues and cache when the stack is removed (DeletionPolicy Retain). */
  retainData: boolean;
  /** DynamoDB point-in-time recovery on the orders table. */
  pointInTimeRecovery: boolean;
  /** Retention of Lambda and API access log groups. */
  logRetention: LogRetention;

  app: {
    /** Sliding-window rate limit per user on POST /buy. */
    rateLimitMaxRequests: number;
    rateLimitWindowSeconds: number;
    /** How long a request_id is remembered for duplicate detection. */
    idempotencyTtlSeconds: number;
    /** Days an order record lives in DynamoDB (TTL attribute `expires_at`). */
    orderRetentionDays: number;
    /** Simulated payment failure probability, 0..1. */
    paymentFailureRate: number;
  };

  /** API-facing Lambdas (buy, order, health, admin). */
  apiFunctions: {
    memoryMb: number;
    timeoutSeconds: number;
  };

  processor: {
    memoryMb: number;
    timeoutSeconds: number;
    /** SQS event source mapping batch size (1..10: the processor settles one SQS receive at a time). */
    batchSize: number;
    /** SQS event source mapping MaximumBatchingWindowInSeconds (0..300). */
    maxBatchingWindowSeconds: number;
    /** ScalingConfig.MaximumConcurrency (2..1000). */
    maxConcurrency: number;
  };

  /** The reservation sweeper (packages/functions/src/sweeper.ts) on an EventBridge schedule. */
  sweeper: {
    /** Run every this many minutes. */
    rateMinutes: number;
    /**
     * Admissions older than this that were never settled are released as FAILED_EXPIRED. Must exceed the time the
     * queue can still retry an order (visibility timeout x maxReceiveCount), or the sweeper would expire live orders.
     */
    reservationTtlSeconds: number;
  };

  queue: {
    /** Redrive to the DLQ after this many receives. */
    maxReceiveCount: number;
    /** Retention of the main queue. The DLQ always keeps 14 days. */
    retentionDays: number;
  };

  cache: {
    /** ElastiCache Serverless CacheUsageLimits.DataStorage.Maximum (GB, 1..5000). */
    maxDataStorageGb: number;
    /** ElastiCache Serverless CacheUsageLimits.ECPUPerSecond.Maximum (1000..15000000). */
    maxEcpuPerSecond: number;
  };

  api: {
    /** Default route throttling of the HTTP API $default stage. */
    throttleRate: number;
    throttleBurst: number;
    /** Storefront origins allowed by CORS. */
    corsOrigins: string[];
  };

  alarms: {
    /** Email addresses subscribed to the alarm topic. */
    emails: string[];
    /** DLQ ApproximateAgeOfOldestMessage threshold in seconds. */
    dlqOldestMessageAgeSeconds: number;
    /** Processor Errors (Sum per period) above this alarms. */
    processorErrors: number;
    /** Processor Throttles (Sum per period) above this alarms. */
    processorThrottles: number;
    /** HTTP API 5xx count (Sum per period) above this alarms. */
    api5xx: number;
    /** Buy function Duration p99 in milliseconds above this alarms. */
    buyP99LatencyMs: number;
    /** OrdersFailed / OrdersProcessed in percent above this alarms. */
    failureRatePercent: number;
    /** ProcessingDuration p99 in milliseconds above this alarms. */
    processingP99Ms: number;
    /** InventoryRemaining (Minimum over the items just settled) below this alarms. */
    inventoryLowUnits: number;
    /** Alarm period in seconds. */
    periodSeconds: number;
    /** Consecutive breaching periods before an alarm fires. */
    evaluationPeriods: number;
  };
}

export const defaultConfig: StageConfig = {
  retainData: false,
  pointInTimeRecovery: false,
  logRetention: "one_week",
  app: {
    rateLimitMaxRequests: 60,
    rateLimitWindowSeconds: 60,
    idempotencyTtlSeconds: 86_400,
    orderRetentionDays: 7,
    paymentFailureRate: 0.05,
  },
  apiFunctions: { memoryMb: 512, timeoutSeconds: 10 },
  processor: {
    memoryMb: 512,
    timeoutSeconds: 30,
    batchSize: 10,
    maxBatchingWindowSeconds: 1,
    maxConcurrency: 5,
  },
  sweeper: { rateMinutes: 1, reservationTtlSeconds: 900 },
  queue: { maxReceiveCount: 3, retentionDays: 4 },
  cache: { maxDataStorageGb: 1, maxEcpuPerSecond: 5_000 },
  api: {
    throttleRate: 100,
    throttleBurst: 200,
    corsOrigins: ["http://localhost:3000", "http://localhost:5173"],
  },
  alarms: {
    emails: [],
    dlqOldestMessageAgeSeconds: 3_600,
    processorErrors: 0,
    processorThrottles: 0,
    api5xx: 5,
    buyP99LatencyMs: 1_000,
    failureRatePercent: 10,
    processingP99Ms: 5_000,
    inventoryLowUnits: 10,
    periodSeconds: 60,
    evaluationPeriods: 1,
  },
};

export const stagingConfig: StageConfig = {
  ...defaultConfig,
  retainData: true,
  pointInTimeRecovery: true,
  logRetention: "two_weeks",
  app: { ...defaultConfig.app, orderRetentionDays: 30 },
  apiFunctions: { memoryMb: 1024, timeoutSeconds: 10 },
  processor: { ...defaultConfig.processor, memoryMb: 1024, maxConcurrency: 10 },
  cache: { maxDataStorageGb: 2, maxEcpuPerSecond: 20_000 },
  api: {
    throttleRate: 500,
    throttleBurst: 1_000,
    corsOrigins: ["https://staging.shop.example.com"],
  },
  alarms: {
    ...defaultConfig.alarms,
    emails: ["oncall-staging@example.com"],
    api5xx: 10,
    buyP99LatencyMs: 800,
  },
};

export const productionConfig: StageConfig = {
  retainData: true,
  pointInTimeRecovery: true,
  logRetention: "one_month",
  app: {
    rateLimitMaxRequests: 20,
    rateLimitWindowSeconds: 60,
    idempotencyTtlSeconds: 86_400,
    orderRetentionDays: 90,
    paymentFailureRate: 0,
  },
  apiFunctions: { memoryMb: 1024, timeoutSeconds: 10 },
  processor: { ...defaultConfig.processor, memoryMb: 1024, maxConcurrency: 50 },
  sweeper: defaultConfig.sweeper,
  queue: defaultConfig.queue,
  cache: { maxDataStorageGb: 10, maxEcpuPerSecond: 200_000 },
  api: {
    throttleRate: 5_000,
    throttleBurst: 10_000,
    corsOrigins: ["https://shop.example.com", "https://www.shop.example.com"],
  },
  alarms: {
    emails: ["oncall@example.com"],
    dlqOldestMessageAgeSeconds: 3_600,
    processorErrors: 0,
    processorThrottles: 0,
    api5xx: 20,
    buyP99LatencyMs: 500,
    failureRatePercent: 10,
    processingP99Ms: 5_000,
    inventoryLowUnits: 50,
    periodSeconds: 60,
    evaluationPeriods: 2,
  },
};

const byStage: Record<string, StageConfig> = {
  production: productionConfig,
  staging: stagingConfig,
};

/** The configuration of a stage: its own entry, or `defaultConfig` for any other stage. */
export function getStageConfig(stage: string): StageConfig {
  const config = byStage[stage] ?? defaultConfig;
  validateStageConfig(stage, config);
  return config;
}

/** Is this one of the long-lived stages whose data must survive `sst remove`? */
export function isLongLivedStage(stage: string): boolean {
  return stage in byStage;
}

/** Throws on a config that cannot deploy or would misbehave; getStageConfig() runs it on every synth. */
export function validateStageConfig(stage: string, c: StageConfig): void {
  const errors: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) errors.push(message);
  };
  // Up to 10, as the processor is designed and tested: one SQS receive's worth, each record settled on its own.
  check(c.processor.batchSize >= 1 && c.processor.batchSize <= 10, "processor.batchSize must be 1..10");
  check(
    c.processor.maxBatchingWindowSeconds >= 0 && c.processor.maxBatchingWindowSeconds <= 300,
    "processor.maxBatchingWindowSeconds must be 0..300",
  );
  check(c.processor.maxConcurrency >= 2 && c.processor.maxConcurrency <= 1000, "processor.maxConcurrency must be 2..1000");
  check(c.processor.timeoutSeconds >= 1 && c.processor.timeoutSeconds <= 900, "processor.timeoutSeconds must be 1..900");
  check(c.processor.timeoutSeconds * 6 <= 43_200, "6 x processor.timeoutSeconds must fit the 12 h SQS visibility limit");
  check(c.sweeper.rateMinutes >= 1 && c.sweeper.rateMinutes <= 60, "sweeper.rateMinutes must be 1..60");
  check(
    c.sweeper.reservationTtlSeconds > c.processor.timeoutSeconds * 6 * c.queue.maxReceiveCount,
    "sweeper.reservationTtlSeconds must exceed the queue's retry span (6 x processor.timeoutSeconds x queue.maxReceiveCount)",
  );
  check(c.alarms.failureRatePercent > 0 && c.alarms.failureRatePercent <= 100, "alarms.failureRatePercent must be 1..100");
  check(c.queue.maxReceiveCount >= 1 && c.queue.maxReceiveCount <= 1000, "queue.maxReceiveCount must be 1..1000");
  check(c.queue.retentionDays >= 1 && c.queue.retentionDays <= 14, "queue.retentionDays must be 1..14");
  check(c.cache.maxDataStorageGb >= 1 && c.cache.maxDataStorageGb <= 5000, "cache.maxDataStorageGb must be 1..5000");
  check(
    c.cache.maxEcpuPerSecond >= 1000 && c.cache.maxEcpuPerSecond <= 15_000_000,
    "cache.maxEcpuPerSecond must be 1000..15000000",
  );
  check(c.apiFunctions.timeoutSeconds <= 29, "apiFunctions.timeoutSeconds must be <= 29 (API Gateway limit)");
  check(c.api.corsOrigins.length > 0, "api.corsOrigins must not be empty");
  check(c.app.paymentFailureRate >= 0 && c.app.paymentFailureRate <= 1, "app.paymentFailureRate must be 0..1");
  if (errors.length) throw new Error(`invalid stage config for "${stage}": ${errors.join("; ")}`);
}
