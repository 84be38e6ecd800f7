import { DEFAULTS } from "@flash/core/contract/environment";

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

/**
 * Account-wide quotas every stage of this app shares with everything else in the account and region. The AWS
 * defaults unless Service Quotas has raised them for the account: raise a value here only after AWS approved it.
 */
export interface AccountQuotas {
  /** Lambda "Concurrent executions" (default 1,000). AWS keeps at least 100 of it unreserved. */
  lambdaConcurrency: number;
  /** API Gateway "Throttle rate" in requests per second (default 10,000), shared by every API in the region. */
  apiRatePerSecond: number;
  /** API Gateway "Throttle burst rate" (default 5,000), shared by every API in the region. */
  apiBurst: number;
}

/** The AWS defaults of the quotas above (Lambda concurrency; API Gateway account throttle rate and burst). */
export const AWS_DEFAULT_QUOTAS: AccountQuotas = { lambdaConcurrency: 1_000, apiRatePerSecond: 10_000, apiBurst: 5_000 };

/** Lambda refuses reservations that would leave less than this much of the account's concurrency unreserved. */
export const MIN_UNRESERVED_CONCURRENCY = 100;

/**
 * The share of the account's Lambda concurrency one stage may reserve. The rest stays unreserved for the API
 * functions (buy, order, health, admin run on the unreserved pool) and for the other stages in the account.
 */
export const MAX_RESERVED_SHARE = 0.25;

/** The sweeper runs one sweep at a time: a second concurrent run would only race the first over the same holds. */
export const SWEEPER_RESERVED_CONCURRENCY = 1;

/** SQS requires the queue's visibility timeout to be >= the consumer function timeout; AWS recommends 6x. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** AWS recommends a redrive maxReceiveCount of at least 5 for queues consumed by a Lambda event source mapping. */
export const MIN_MAX_RECEIVE_COUNT = 5;

/**
 * What carries the orders from the buy call to the processor. "sqs": an SQS queue and its DLQ. "msk": a topic on an
 * MSK Serverless cluster (IAM auth, in the stage's VPC) and a dead-letter topic; when to choose it: docs/kafka.md.
 */
export type QueueTransport = "sqs" | "msk";

/** The environment variable that, at deploy (synth) time, replaces `alarms.emails`: comma-separated addresses. */
export const ALARM_EMAILS_ENV = "ALARM_EMAILS";

/**
 * Buyer identity: API Gateway's JWT authorizer on the buyer routes (POST /buy, GET /orders/{request_id}), trusting
 * one issuer of tokens (a Cognito user pool or any OpenID Connect provider).
 */
export interface JwtAuthConfig {
  /**
   * The issuer exactly as the tokens' `iss` says it (an https URL; its /.well-known/openid-configuration must be
   * reachable from the internet), e.g. https://cognito-idp.<region>.amazonaws.com/<user pool id>.
   */
  issuer: string;
  /** The audiences a token may name in `aud` (or in `client_id`, when it has no `aud`): for Cognito, app client ids. */
  audience: string[];
  /** The claim whose value is the buyer's user_id (1-100 characters of A-Z a-z 0-9 _ -). Default "sub". */
  userClaim?: string;
}

/**
 * The deploy-time environment that, when AUTH_JWT_ISSUER is set, replaces `auth.jwt` of the stage config (the same
 * names the local profile reads): AUTH_JWT_AUDIENCE comma-separated, AUTH_USER_CLAIM optional.
 */
export const AUTH_JWT_ENV = { issuer: "AUTH_JWT_ISSUER", audience: "AUTH_JWT_AUDIENCE", userClaim: "AUTH_USER_CLAIM" } as const;

export interface StageConfig {
  /** Keep table, queues and cache when the stack is removed (DeletionPolicy Retain). */
  retainData: boolean;
  /** VPC flow logs (all traffic) to CloudWatch Logs, with `logRetention`. */
  vpcFlowLogs: boolean;
  /** The account's quotas this stage is checked against (see AccountQuotas). */
  accountQuotas: AccountQuotas;
  /** DynamoDB point-in-time recovery on the orders table. */
  pointInTimeRecovery: boolean;
  /** Retention of Lambda and API access log groups. */
  logRetention: LogRetention;

  app: {
    /** Sliding-window rate limit per user and item on POST /buy. */
    rateLimitMaxRequests: number;
    rateLimitWindowSeconds: number;
    /** How long a buy function answers 410 from memory after the door said sold out (0: off). */
    soldOutCacheMs: number;
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
    /**
     * Reserved concurrency of the processor, >= maxConcurrency: the mapping can always run maxConcurrency
     * batches, whatever the API functions of the account are doing (no throttles that burn receive counts).
     */
    reservedConcurrency: number;
  };

  /** The reservation sweeper (packages/functions/src/schedule/sweeper.ts) on an EventBridge schedule. */
  sweeper: {
    /** Run every this many minutes. */
    rateMinutes: number;
    /**
     * Admissions older than this that were never settled are released as FAILED_EXPIRED. Must exceed the time the
     * queue can still retry an order (visibility timeout x maxReceiveCount), or the sweeper would expire live orders.
     * The orders queue's oldest-message alarm fires at a third of it (see queueAgeAlarmSeconds).
     */
    reservationTtlSeconds: number;
  };

  queue: {
    /** "sqs" (every stage unless it says otherwise) or "msk"; see QueueTransport. */
    transport: QueueTransport;
    /**
     * Redrive to the DLQ after this many receives (>= 5, as AWS recommends for Lambda consumers). On MSK: the attempts
     * the processor makes at one record before it writes it to the dead-letter topic itself.
     */
    maxReceiveCount: number;
    /** Retention of the main queue (or orders topic). The DLQ (or dead-letter topic) always keeps 14 days. */
    retentionDays: number;
  };

  /** The Kafka transport (queue.transport "msk"); ignored on SQS stages. */
  kafka: {
    /**
     * Partitions of the orders topic (and of the dead-letter topic). One batch per partition runs at a time, so this
     * is the processor's concurrency; an item's orders all go to one partition. Adding partitions later moves keys.
     */
    partitions: number;
    /**
     * The event source mapping's provisioned event pollers. Provisioned mode is what gives a Kafka mapping its error
     * handling (retry limit, bisect, partial batch responses, a Kafka on-failure destination), and it is billed per
     * event poller unit-hour. maximumPollers <= partitions.
     */
    minimumPollers: number;
    maximumPollers: number;
    /**
     * The mapping's MaximumRetryAttempts: the backstop behind the processor's own MAX_RECEIVE_COUNT (it must be larger),
     * for what the processor cannot dead-letter itself (a timeout, a crash); then the mapping writes the records to the
     * dead-letter topic (its on-failure destination).
     */
    maxRetryAttempts: number;
  };

  cache: {
    /** ElastiCache Serverless CacheUsageLimits.DataStorage.Maximum (GB, 1..5000). */
    maxDataStorageGb: number;
    /** ElastiCache Serverless CacheUsageLimits.ECPUPerSecond.Maximum (1000..15000000). */
    maxEcpuPerSecond: number;
  };

  /**
   * Who the buyer is. Without `jwt` (the default), the buyer routes are open to anyone and the body's user_id names
   * the buyer: the API trusts its caller, which must be a backend that signed its user in (a storefront server),
   * never a browser. With `jwt`, the buyer is the verified token's user (see JwtAuthConfig, AUTH_JWT_ENV).
   */
  auth?: { jwt?: JwtAuthConfig };

  api: {
    /** Default route throttling of the HTTP API $default stage; within accountQuotas.apiRatePerSecond / apiBurst. */
    throttleRate: number;
    throttleBurst: number;
    /**
     * Origins of other storefronts allowed by CORS (a shop of your own calling the API). This app's own storefront
     * adds its origins from `storefront` (see apiCorsOrigins).
     */
    corsOrigins: string[];
  };

  /** The storefront (storefront/): an SST StaticSite, S3 + CloudFront (stacks/Storefront.ts). */
  storefront: {
    /**
     * Deploy it with the stage. Off on throwaway stages: `sst remove` could not delete its bucket with the files in
     * it, and CDK's auto-delete needs wildcard S3 actions, which this app grants nowhere. `npm start` serves the same
     * page locally.
     */
    enabled: boolean;
    /**
     * A custom domain in Route 53 (e.g. "shop.example.com"): certificate and DNS records are made at deploy, and its
     * https origin is allowed by the API's CORS by itself. Unset: the site is at its CloudFront URL.
     */
    domain?: string;
    /**
     * More origins the storefront is served from, allowed by the API's CORS: put the StorefrontUrl output here
     * (https://dxxxxxxxx.cloudfront.net, no trailing slash) once the first deploy has printed it, and deploy again.
     */
    allowedOrigins: string[];
    /** The items the page shows when its address names none (`?items=sku-1,sku-2`). */
    items: string[];
    /** The page signs buyers in before they buy (buyer identity, JWT): off until the stage has an issuer. */
    auth: boolean;
    /** CloudFront and S3 server access logs to a log bucket of the stage (kept for logRetention). */
    accessLogs: boolean;
  };

  alarms: {
    /**
     * Email addresses subscribed to the alarm topic. The ALARM_EMAILS environment variable (comma-separated), when
     * set at deploy time, replaces this list. Placeholder domains (example.com, *.test, ...) are refused.
     */
    emails: string[];
    /** Refuse to synthesize the stage without at least one alarm email (production). */
    requireEmails: boolean;
    /** DLQ ApproximateAgeOfOldestMessage threshold in seconds (on MSK: how long dead letters may wait unredriven). */
    dlqOldestMessageAgeSeconds: number;
    /** MSK: the processor's consumer lag (the mapping's OffsetLag, records) above this alarms. */
    consumerOffsetLagRecords: number;
    /** Processor Errors (Sum per period) above this alarms. */
    processorErrors: number;
    /** Processor Throttles (Sum per period) above this alarms. */
    processorThrottles: number;
    /** Sweeper Errors (Sum per period) above this alarms. */
    sweeperErrors: number;
    /** ElastiCache Serverless ThrottledCmds (Sum per period) above this alarms. */
    cacheThrottledCmds: number;
    /** ECPUs consumed per second, in percent of cache.maxEcpuPerSecond, above this alarms (1..100). */
    cacheEcpuPercent: number;
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
  vpcFlowLogs: false,
  accountQuotas: AWS_DEFAULT_QUOTAS,
  pointInTimeRecovery: false,
  logRetention: "one_week",
  // The functions' own defaults (contract/environment.ts), except where a throwaway stage deliberately differs.
  app: {
    rateLimitMaxRequests: DEFAULTS.RATE_LIMIT_MAX_REQUESTS,
    rateLimitWindowSeconds: DEFAULTS.RATE_LIMIT_WINDOW_SECONDS,
    soldOutCacheMs: DEFAULTS.SOLD_OUT_CACHE_MS,
    idempotencyTtlSeconds: DEFAULTS.IDEMPOTENCY_TTL_SECONDS,
    orderRetentionDays: 7, // dev and preview stages keep their records a week, not DEFAULTS' 90 days
    paymentFailureRate: 0.05, // and decline some payments, so the failure paths are exercised
  },
  apiFunctions: { memoryMb: 512, timeoutSeconds: 10 },
  processor: {
    memoryMb: 512,
    timeoutSeconds: 30,
    batchSize: 10,
    maxBatchingWindowSeconds: 1,
    maxConcurrency: 5,
    reservedConcurrency: 5,
  },
  // 1200 s > 180 s visibility timeout x 5 receives = 900 s
  sweeper: { rateMinutes: 1, reservationTtlSeconds: 1_200 },
  queue: { transport: "sqs", maxReceiveCount: 5, retentionDays: 4 },
  kafka: { partitions: 6, minimumPollers: 1, maximumPollers: 2, maxRetryAttempts: 10 },
  cache: { maxDataStorageGb: 1, maxEcpuPerSecond: 5_000 },
  api: {
    throttleRate: 100,
    throttleBurst: 200,
    corsOrigins: ["http://localhost:3000", "http://localhost:5173"],
  },
  storefront: { enabled: false, allowedOrigins: [], items: ["sku-1"], auth: false, accessLogs: false },
  alarms: {
    emails: [],
    requireEmails: false,
    dlqOldestMessageAgeSeconds: 3_600,
    consumerOffsetLagRecords: 1_000,
    processorErrors: 0,
    processorThrottles: 0,
    sweeperErrors: 0,
    cacheThrottledCmds: 0,
    cacheEcpuPercent: 80,
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
  processor: { ...defaultConfig.processor, memoryMb: 1024, maxConcurrency: 10, reservedConcurrency: 10 },
  cache: { maxDataStorageGb: 2, maxEcpuPerSecond: 20_000 },
  api: {
    throttleRate: 500,
    throttleBurst: 1_000,
    corsOrigins: ["https://staging.shop.example.com"],
  },
  // domain: e.g. "staging.shop.example.com" (a hosted zone in this account); or, after the first deploy, the
  // StorefrontUrl output in allowedOrigins.
  storefront: { ...defaultConfig.storefront, enabled: true },
  alarms: {
    ...defaultConfig.alarms,
    // none by default: set ALARM_EMAILS when deploying staging to get the alarms by email
    emails: [],
    api5xx: 10,
    buyP99LatencyMs: 800,
  },
};

export const productionConfig: StageConfig = {
  ...defaultConfig,
  retainData: true,
  vpcFlowLogs: true,
  pointInTimeRecovery: true,
  logRetention: "one_month",
  app: {
    ...defaultConfig.app,
    rateLimitMaxRequests: 20,
    orderRetentionDays: DEFAULTS.ORDER_RETENTION_DAYS,
    paymentFailureRate: DEFAULTS.PAYMENT_FAILURE_RATE,
  },
  apiFunctions: { memoryMb: 1024, timeoutSeconds: 10 },
  processor: { ...defaultConfig.processor, memoryMb: 1024, maxConcurrency: 50, reservedConcurrency: 50 },
  cache: { maxDataStorageGb: 10, maxEcpuPerSecond: 200_000 },
  api: {
    // The account-wide API Gateway defaults are 10,000 rps and a burst of 5,000, shared by every API in the
    // region: a higher burst needs a quota increase first (docs/deploy.md).
    throttleRate: 5_000,
    throttleBurst: 5_000,
    corsOrigins: ["https://shop.example.com", "https://www.shop.example.com"],
  },
  storefront: { ...defaultConfig.storefront, enabled: true, accessLogs: true },
  alarms: {
    ...defaultConfig.alarms,
    // From ALARM_EMAILS at deploy time (or list them here); the synth refuses production without any.
    emails: [],
    requireEmails: true,
    api5xx: 20,
    buyP99LatencyMs: 500,
    inventoryLowUnits: 50,
    evaluationPeriods: 2,
  },
};

/**
 * staging's settings on the Kafka transport: deploy it beside staging (`npx sst deploy --stage staging-msk`) to try
 * MSK with staging's traffic shape before a stage switches. Its data goes with `sst remove`.
 */
export const stagingMskConfig: StageConfig = {
  ...stagingConfig,
  retainData: false,
  pointInTimeRecovery: false,
  queue: { ...stagingConfig.queue, transport: "msk" },
  // A throwaway stage, like a PR stage: no storefront (its bucket could not be emptied on sst remove).
  storefront: { ...stagingConfig.storefront, enabled: false },
};

const byStage: Record<string, StageConfig> = {
  production: productionConfig,
  staging: stagingConfig,
  "staging-msk": stagingMskConfig,
};

/** The configuration of a stage: its own entry, or `defaultConfig` for any other stage. */
export function getStageConfig(stage: string): StageConfig {
  const config = byStage[stage] ?? defaultConfig;
  validateStageConfig(stage, config);
  return config;
}

/** Is this one of the long-lived stages whose data must survive `sst remove`? */
export function isLongLivedStage(stage: string): boolean {
  return byStage[stage]?.retainData === true;
}

/** How long a message may wait in the orders queue before the QueueOldestMessageAge alarm fires: a third of the TTL. */
export function queueAgeAlarmSeconds(c: StageConfig): number {
  return Math.floor(c.sweeper.reservationTtlSeconds / 3);
}

/**
 * The time the orders queue can still deliver (and retry) one order: visibility timeout x maxReceiveCount. On MSK,
 * the mapping retries a failed record at once, each attempt lasting at most the function timeout, until its
 * MaximumRetryAttempts: timeout x (maxRetryAttempts + 1).
 */
export function queueRetrySpanSeconds(c: StageConfig): number {
  if (c.queue.transport === "msk") return c.processor.timeoutSeconds * (c.kafka.maxRetryAttempts + 1);
  return c.processor.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR * c.queue.maxReceiveCount;
}

/**
 * The origins the API's CORS allows: `api.corsOrigins`, the storefront's custom domain (https) when it has one, and
 * `storefront.allowedOrigins`; each once.
 */
export function apiCorsOrigins(c: StageConfig): string[] {
  const site = c.storefront.enabled && c.storefront.domain ? [`https://${c.storefront.domain}`] : [];
  return [...new Set([...c.api.corsOrigins, ...site, ...c.storefront.allowedOrigins])];
}

/** A CORS origin is scheme://host[:port] and nothing else: a path or a trailing slash never matches a browser's Origin. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

/** Concurrency the stage reserves in the account: the processor's and the sweeper's. */
export function reservedConcurrency(c: StageConfig): number {
  return c.processor.reservedConcurrency + SWEEPER_RESERVED_CONCURRENCY;
}

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

/** Domains reserved for documentation and tests (RFC 2606, RFC 6761): mail to them never reaches anyone. */
function isPlaceholderEmail(email: string): boolean {
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  return (
    /(^|\.)example\.(com|net|org)$/.test(domain) ||
    /\.(example|test|invalid|localhost)$/.test(domain) ||
    domain === "localhost"
  );
}

function emailProblems(emails: string[], source: string): string[] {
  const problems: string[] = [];
  for (const email of emails) {
    if (!EMAIL.test(email)) problems.push(`${source}: "${email}" is not an email address`);
    else if (isPlaceholderEmail(email)) problems.push(`${source}: "${email}" is a placeholder address (reserved domain)`);
  }
  return problems;
}

/**
 * The alarm topic's email subscribers: ALARM_EMAILS (comma-separated) from the environment at deploy time if it is
 * set and not empty, otherwise `alarms.emails` of the stage config. Throws on a malformed or placeholder address,
 * and on none at all when the stage requires them (`alarms.requireEmails`, production).
 */
export function resolveAlarmEmails(stage: string, c: StageConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env[ALARM_EMAILS_ENV] ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  const source = fromEnv.length > 0 ? ALARM_EMAILS_ENV : "alarms.emails";
  const emails = fromEnv.length > 0 ? fromEnv : c.alarms.emails;
  const problems = emailProblems(emails, source);
  if (c.alarms.requireEmails && emails.length === 0) {
    problems.push(
      `no alarm email subscribers: set ${ALARM_EMAILS_ENV}=<address>[,<address>...] in the environment of the deploy ` +
        `(or in .env.${stage}), or list them in alarms.emails in stacks/config.ts`,
    );
  }
  if (problems.length) throw new Error(`invalid alarm emails for "${stage}": ${problems.join("; ")}`);
  return [...new Set(emails)];
}

function jwtProblems(jwt: JwtAuthConfig, source: string): string[] {
  const problems: string[] = [];
  let issuer: URL | undefined;
  try {
    issuer = new URL(jwt.issuer);
  } catch {
    // reported below
  }
  if (!issuer || issuer.protocol !== "https:" || issuer.search || issuer.hash) {
    problems.push(`${source}: issuer "${jwt.issuer}" must be an https URL without query or fragment (the tokens' iss)`);
  }
  if (!jwt.audience.length || jwt.audience.some((a) => !a.trim())) problems.push(`${source}: audience must list at least one non-empty audience`);
  if (jwt.userClaim !== undefined && !/^\S{1,200}$/.test(jwt.userClaim)) problems.push(`${source}: userClaim must be a claim name`);
  return problems;
}

/**
 * The JWT authorizer of the buyer routes, or undefined when buyer identity is off: from AUTH_JWT_ISSUER,
 * AUTH_JWT_AUDIENCE and AUTH_USER_CLAIM in the deploy's environment when AUTH_JWT_ISSUER is set, otherwise from
 * `auth.jwt` of the stage config. Throws on an issuer, audience or claim API Gateway (or the functions) would refuse.
 */
export function resolveBuyerJwt(stage: string, c: StageConfig, env: NodeJS.ProcessEnv = process.env): Required<JwtAuthConfig> | undefined {
  const issuer = env[AUTH_JWT_ENV.issuer]?.trim();
  const fromEnv = issuer
    ? {
        issuer,
        audience: (env[AUTH_JWT_ENV.audience] ?? "").split(",").map((a) => a.trim()).filter(Boolean),
        ...(env[AUTH_JWT_ENV.userClaim] ? { userClaim: env[AUTH_JWT_ENV.userClaim] } : {}),
      }
    : undefined;
  const jwt = fromEnv ?? c.auth?.jwt;
  if (!jwt) return undefined;
  const problems = jwtProblems(jwt, fromEnv ? `${AUTH_JWT_ENV.issuer}/${AUTH_JWT_ENV.audience}` : "auth.jwt");
  if (problems.length) throw new Error(`invalid buyer identity for "${stage}": ${problems.join("; ")}`);
  return { issuer: jwt.issuer, audience: [...new Set(jwt.audience)], userClaim: jwt.userClaim ?? "sub" };
}

/** Throws on a config that cannot deploy or would misbehave; getStageConfig() runs it on every synth. */
export function validateStageConfig(stage: string, c: StageConfig): void {
  const errors: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) errors.push(message);
  };
  const q = c.accountQuotas;
  // Up to 10, as the processor is designed and tested: one SQS receive's worth, each record settled on its own.
  check(c.processor.batchSize >= 1 && c.processor.batchSize <= 10, "processor.batchSize must be 1..10");
  check(
    c.processor.maxBatchingWindowSeconds >= 0 && c.processor.maxBatchingWindowSeconds <= 300,
    "processor.maxBatchingWindowSeconds must be 0..300",
  );
  check(c.processor.maxConcurrency >= 2 && c.processor.maxConcurrency <= 1000, "processor.maxConcurrency must be 2..1000");
  check(
    c.processor.reservedConcurrency >= c.processor.maxConcurrency,
    "processor.reservedConcurrency must be >= processor.maxConcurrency (or the mapping's batches get throttled)",
  );
  check(
    reservedConcurrency(c) <= q.lambdaConcurrency - MIN_UNRESERVED_CONCURRENCY,
    `the stage's reserved concurrency (processor + sweeper = ${reservedConcurrency(c)}) must leave ` +
      `${MIN_UNRESERVED_CONCURRENCY} of accountQuotas.lambdaConcurrency (${q.lambdaConcurrency}) unreserved`,
  );
  check(
    reservedConcurrency(c) <= q.lambdaConcurrency * MAX_RESERVED_SHARE,
    `the stage's reserved concurrency (processor + sweeper = ${reservedConcurrency(c)}) must stay within ` +
      `${MAX_RESERVED_SHARE * 100} % of accountQuotas.lambdaConcurrency (${q.lambdaConcurrency}): the API functions ` +
      `and the other stages run on the unreserved rest`,
  );
  check(c.processor.timeoutSeconds >= 1 && c.processor.timeoutSeconds <= 900, "processor.timeoutSeconds must be 1..900");
  check(
    c.processor.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR <= 43_200,
    "6 x processor.timeoutSeconds must fit the 12 h SQS visibility limit",
  );
  check(c.sweeper.rateMinutes >= 1 && c.sweeper.rateMinutes <= 60, "sweeper.rateMinutes must be 1..60");
  check(
    c.sweeper.reservationTtlSeconds > queueRetrySpanSeconds(c),
    c.queue.transport === "msk"
      ? `sweeper.reservationTtlSeconds must exceed the mapping's retry span (processor.timeoutSeconds x ` +
          `(kafka.maxRetryAttempts + 1) = ${queueRetrySpanSeconds(c)} s)`
      : `sweeper.reservationTtlSeconds must exceed the queue's retry span (visibility timeout 6 x processor.timeoutSeconds ` +
          `x queue.maxReceiveCount = ${queueRetrySpanSeconds(c)} s)`,
  );
  check(c.queue.transport === "sqs" || c.queue.transport === "msk", 'queue.transport must be "sqs" or "msk"');
  if (c.queue.transport === "msk") {
    const k = c.kafka;
    check(Number.isInteger(k.partitions) && k.partitions >= 1 && k.partitions <= 120, "kafka.partitions must be 1..120");
    check(
      k.minimumPollers >= 1 && k.minimumPollers <= k.maximumPollers && k.maximumPollers <= Math.min(200, k.partitions),
      "kafka pollers: 1 <= minimumPollers <= maximumPollers <= min(200, kafka.partitions) (a poller per partition at most)",
    );
    check(
      k.maxRetryAttempts > c.queue.maxReceiveCount && k.maxRetryAttempts <= 10_000,
      "kafka.maxRetryAttempts must exceed queue.maxReceiveCount (the processor dead-letters first) and be <= 10000",
    );
    check(
      c.processor.reservedConcurrency >= k.partitions,
      "processor.reservedConcurrency must be >= kafka.partitions (one batch per partition runs at a time; fewer would throttle the mapping)",
    );
    check(c.alarms.consumerOffsetLagRecords >= 1, "alarms.consumerOffsetLagRecords must be >= 1");
  }
  check(c.alarms.failureRatePercent > 0 && c.alarms.failureRatePercent <= 100, "alarms.failureRatePercent must be 1..100");
  check(c.alarms.cacheEcpuPercent > 0 && c.alarms.cacheEcpuPercent <= 100, "alarms.cacheEcpuPercent must be 1..100");
  for (const problem of emailProblems(c.alarms.emails, "alarms.emails")) errors.push(problem);
  check(
    c.queue.maxReceiveCount >= MIN_MAX_RECEIVE_COUNT && c.queue.maxReceiveCount <= 1000,
    `queue.maxReceiveCount must be ${MIN_MAX_RECEIVE_COUNT}..1000 (AWS recommends at least ${MIN_MAX_RECEIVE_COUNT} for Lambda consumers)`,
  );
  check(c.queue.retentionDays >= 1 && c.queue.retentionDays <= 14, "queue.retentionDays must be 1..14");
  check(c.cache.maxDataStorageGb >= 1 && c.cache.maxDataStorageGb <= 5000, "cache.maxDataStorageGb must be 1..5000");
  check(
    c.cache.maxEcpuPerSecond >= 1000 && c.cache.maxEcpuPerSecond <= 15_000_000,
    "cache.maxEcpuPerSecond must be 1000..15000000",
  );
  check(c.apiFunctions.timeoutSeconds <= 29, "apiFunctions.timeoutSeconds must be <= 29 (API Gateway limit)");
  check(c.api.throttleRate >= 1 && c.api.throttleBurst >= 1, "api.throttleRate and api.throttleBurst must be >= 1");
  check(
    c.api.throttleRate <= q.apiRatePerSecond,
    `api.throttleRate (${c.api.throttleRate}) exceeds the account's API Gateway throttle rate ` +
      `(accountQuotas.apiRatePerSecond = ${q.apiRatePerSecond}, shared by every API in the region): request a quota increase first`,
  );
  check(
    c.api.throttleBurst <= q.apiBurst,
    `api.throttleBurst (${c.api.throttleBurst}) exceeds the account's API Gateway burst ` +
      `(accountQuotas.apiBurst = ${q.apiBurst}, shared by every API in the region): request a quota increase first`,
  );
  check(c.api.corsOrigins.length > 0, "api.corsOrigins must not be empty");
  for (const origin of [...c.api.corsOrigins, ...c.storefront.allowedOrigins]) {
    check(ORIGIN.test(origin), `CORS origin "${origin}" must be scheme://host[:port], with no path and no trailing slash`);
  }
  check(
    c.storefront.domain === undefined || /^[a-z0-9.-]+\.[a-z]{2,}$/i.test(c.storefront.domain),
    `storefront.domain "${c.storefront.domain}" must be a host name (no scheme, no path)`,
  );
  for (const item of c.storefront.items) check(/^[A-Za-z0-9_-]{1,100}$/.test(item), `storefront.items: "${item}" is not an item id`);
  check(c.app.paymentFailureRate >= 0 && c.app.paymentFailureRate <= 1, "app.paymentFailureRate must be 0..1");
  if (c.auth?.jwt) errors.push(...jwtProblems(c.auth.jwt, "auth.jwt"));
  if (errors.length) throw new Error(`invalid stage config for "${stage}": ${errors.join("; ")}`);
}
