/**
 * Every figure the capacity model (model.ts, `npm run capacity`, docs/capacity.md) uses, each with where it comes
 * from. One module: the doc cites these names, the CLI prints them with --json, the tests check the arithmetic on them.
 *
 * Region us-east-1 (US East, N. Virginia), list prices, no free tier, no Savings Plans. Prices as found on
 * 2026-11-22 in the stored pages of the project's reference library (the pages themselves are dated 2021 to 2026;
 * each figure names its pages). Check the AWS pricing pages before relying on a figure.
 *
 * status, how much to trust a figure:
 *   aws          AWS's own documentation or pricing page (a stored copy)
 *   third-party  not found on an AWS page in the library; quoted, as AWS's price, by the third-party pages named
 *   code         counted in this repository's code or asserted by its tests
 *   config       stacks/config.ts (the stage config; read from there at run time, not copied)
 *   measured     measured on the local machine (npm run bench, scripts/capacity/log-bytes.ts)
 *   assumption   not found and not measured: a stated guess, to be replaced by a measurement on AWS
 */
import { AWS_DEFAULT_QUOTAS } from "../../stacks/config";

export type Status = "aws" | "third-party" | "code" | "config" | "measured" | "assumption";

export interface Figure {
  value: number;
  unit: string;
  status: Status;
  source: string;
}

const fig = (value: number, unit: string, status: Status, source: string): Figure => ({ value, unit, status, source });

export const REGION = "us-east-1";
export const PRICES_AS_OF = "2026-11-22";

/** Hours in a month, as AWS's pricing examples count them. */
export const HOURS_PER_MONTH = 730;

// --------------------------------------------------------------------------------------------------------------
// List prices, us-east-1
// --------------------------------------------------------------------------------------------------------------

export const PRICES = {
  apiHttpPerMillion: fig(1.0, "USD per 1M HTTP API requests (first 300M a month)", "third-party",
    "apigatewaycost.com/aws, awsforengineers.com/blog/aws-api-gateway-pricing-explained (2025-05), amnic.com/blogs/aws-api-gateway-pricing: all quote aws.amazon.com/api-gateway/pricing (not in the library)"),
  lambdaRequestPerMillion: fig(0.2, "USD per 1M Lambda requests", "third-party",
    "git.mcrn.ar lambda_local_runner docs/lambdas-md/lambda-13-cost.md (2026-05); kodekloud notes on Lambda pricing"),
  lambdaArmGbSecond: fig(0.0000133334, "USD per GB-second, arm64, first 7.5B GB-s a month", "third-party",
    "cloudchipr.com/blog/aws-lambda-pricing (US East tiers); lambda-13-cost.md (above). aws.amazon.com/lambda/pricing is in the library without its numbers"),
  sqsStandardPerMillion: fig(0.4, "USD per 1M SQS requests (each 64 KB chunk a request), standard queue", "third-party",
    "cloudburn.io/blog/amazon-sqs-pricing (2026-03, us-east-1), factualminds.com amazon-sqs-pricing (2026-06), unanswered.io SQS pricing guide"),
  dynamoWritePerMillion: fig(0.625, "USD per 1M write request units, on-demand, Standard table class", "third-party",
    "airbyte.com/data-engineering-resources/dynamodb-pricing (US East, after the November 2024 on-demand price cut)"),
  dynamoReadPerMillion: fig(0.125, "USD per 1M read request units, on-demand", "third-party", "airbyte.com (as above)"),
  dynamoStorageGbMonth: fig(0.25, "USD per GB-month of table storage (first 25 GB a month free)", "aws", "aws.amazon.com/dynamodb/pricing/ (stored copy)"),
  valkeyEcpuPerMillion: fig(0.0023, "USD per 1M ECPUs, ElastiCache Serverless for Valkey", "third-party",
    "usage.ai blogs/aws/database-savings-plans/elasticache/serverless-pricing (2026-06, citing pump.co and AWS). The Redis OSS rate, $0.0034, is in a copy of the AWS Database Blog. A sister page on usage.ai prints other Valkey figures: treat as unconfirmed"),
  valkeyStorageGbHour: fig(0.084, "USD per GB-hour stored, ElastiCache Serverless for Valkey", "third-party", "usage.ai (as above)"),
  valkeyMinimumStorageGb: fig(0.1, "GB metered at least, whatever is stored (Valkey; Redis OSS: 1 GB)", "third-party", "usage.ai (as above)"),
  logsIngestPerGb: fig(0.5, "USD per GB ingested into CloudWatch Logs (Standard class; first tier of Lambda's tiered log pricing)", "third-party",
    "duckbillgroup.com on Lambda's tiered log pricing (May 2025: first tier $0.50/GB, us-east-1); hykell.com CloudWatch Logs pricing"),
  logsStorageGbMonth: fig(0.03, "USD per GB-month of CloudWatch Logs archive", "third-party", "hykell.com CloudWatch Logs pricing"),
  customMetricMonth: fig(0.3, "USD per custom metric-month (first 10,000); EMF metrics are custom metrics, with no PutMetricData charge", "third-party",
    "c3x.dev/blog/aws-cloudwatch-metrics-cost; EMF billing: AWS Well-Architected Serverless Lens, logging-ingestion-and-storage (aws). Hourly proration (a metric costs for the hours it is published) is the AWS pricing page's rule, not found in the library: assumption"),
  alarmMonth: fig(0.1, "USD per standard-resolution alarm-month", "third-party", "c3x.dev/blog/aws-cloudwatch-metrics-cost"),
  dashboardMonth: fig(3.0, "USD per dashboard-month (beyond the 3 free)", "third-party", "c3x.dev (as above); factualminds.com CloudWatch pricing"),
  interfaceEndpointAzHour: fig(0.01, "USD per interface VPC endpoint per AZ-hour", "third-party",
    "cloudcostkit.com VPC interface endpoint calculator (its default rate). aws.amazon.com/privatelink/pricing is in the library without its numbers"),
  interfaceEndpointPerGb: fig(0.01, "USD per GB processed by interface endpoints (first PB)", "third-party", "a copy of the PrivateLink pricing page's table (968880.n0h2l.group/privatelink/pricing)"),
  dataTransferOutPerGb: fig(0.09, "USD per GB out to the internet (first 10 TB; the first 100 GB a month free)", "third-party",
    "apigatewaycost.com/aws, amnic.com/blogs/aws-api-gateway-pricing, unanswered.io SQS guide"),
} as const;

// --------------------------------------------------------------------------------------------------------------
// Default quotas and service limits
// --------------------------------------------------------------------------------------------------------------

export const QUOTAS = {
  apiRatePerSecond: fig(AWS_DEFAULT_QUOTAS.apiRatePerSecond, "requests/s, per account and region, shared by every API", "aws",
    "docs.aws.amazon.com/apigateway/latest/developerguide/limits.html; AWS_DEFAULT_QUOTAS in stacks/config.ts"),
  apiBurst: fig(AWS_DEFAULT_QUOTAS.apiBurst, "requests (token bucket capacity), per account and region", "aws",
    "docs.amazonaws.cn copy of apigateway limits.md (bucket capacity 5,000); AWS What's New 2017-06-06; AWS_DEFAULT_QUOTAS in stacks/config.ts"),
  lambdaConcurrency: fig(AWS_DEFAULT_QUOTAS.lambdaConcurrency, "concurrent executions, per account and region", "aws",
    "docs.aws.amazon.com/lambda/latest/dg/limits.html (gettingstarted-limits); AWS_DEFAULT_QUOTAS in stacks/config.ts"),
  lambdaScalingPer10s: fig(1_000, "new execution environments per function every 10 s", "aws", "docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"),
  lambdaRpsPerEnvironment: fig(10, "synchronous requests/s per execution environment (so 10 x concurrency)", "third-party",
    "rate-limits.apis.io aws-lambda (sources docs.aws.amazon.com/lambda); zenn.dev notes on docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html; fulgurion.com 'the requests-per-second trap'"),
  lambdaFullVcpuMb: fig(1_769, "MB of memory at which a function has one vCPU (CPU is proportional to memory)", "aws", "docs.amazonaws.cn/lambda/latest/dg/resource-model.html"),
  esmInitialBatches: fig(5, "concurrent batches an SQS event source mapping starts with", "aws", "docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html"),
  esmScaleUpPerMinute: fig(300, "more concurrent batches per minute while messages wait", "aws", "services-sqs-scaling.html (as above)"),
  esmMaxConcurrentBatches: fig(1_000, "concurrent batches per mapping (MaximumConcurrency 2..1000)", "aws",
    "services-sqs-scaling.html; AWS::Lambda::EventSourceMapping ScalingConfig (CloudFormation reference)"),
  dynamoTableWruPerSecond: fig(40_000, "write request units/s per on-demand table (and per GSI)", "aws", "docs.aws.amazon.com/amazondynamodb/latest/developerguide/Limits.html"),
  dynamoTableRruPerSecond: fig(40_000, "read request units/s per on-demand table", "aws", "Limits.html (as above)"),
  dynamoNewTableWruPerSecond: fig(4_000, "write request units/s a new on-demand table serves at once (then up to double its previous peak)", "aws",
    "repost.aws knowledge-center on-demand-table-throttling-dynamodb"),
  dynamoPartitionWruPerSecond: fig(1_000, "write request units/s per partition (one partition key value until DynamoDB splits it)", "aws",
    "repost.aws knowledge-center on-demand-table-throttling-dynamodb"),
  cacheMaxEcpuPerSecond: fig(15_000_000, "ECPU/s, the highest CacheUsageLimits.ECPUPerSecond.Maximum the API takes", "code",
    "validateStageConfig in stacks/config.ts (cache.maxEcpuPerSecond 1000..15000000)"),
  cacheSlotEcpuPerSecond: fig(30_000, "ECPU/s one hash slot serves (every key of one item is in one slot)", "assumption",
    "not found in the library; a per-slot ceiling of this order is what ElastiCache Serverless is generally said to have. Measure: ThrottledCmds with one hot item"),
  cacheMaxClients: fig(65_000, "client connections per serverless cache", "aws", "docs.aws.amazon.com/AmazonElastiCache/latest/dg/RedisConfiguration.html (serverless: maxclients)"),
} as const;

// --------------------------------------------------------------------------------------------------------------
// What each path does, counted in this repository
// --------------------------------------------------------------------------------------------------------------

/** Redis round trips per path, as test/e2e/round-trips.test.ts asserts them with MONITOR. */
export const REDIS_CALLS = {
  nearCacheRefusal: fig(0, "calls (a sold-out item the environment remembers: answered from memory)", "code", "test/e2e/round-trips.test.ts; packages/core/src/domain/sold-out.ts"),
  doorRefusal: fig(1, "call (the door, admit.lua: any refusal)", "code", "test/e2e/round-trips.test.ts"),
  accepted: fig(2, "calls (admit.lua, then the request_id registry SET NX GET)", "code", "test/e2e/round-trips.test.ts"),
  duplicate: fig(1, "call (admit.lua; the status comes from DynamoDB)", "code", "test/e2e/round-trips.test.ts"),
  settlePerOrder: fig(2, "calls (admit.lua reserve, settle.lua), pipelined per batch", "code", "test/e2e/round-trips.test.ts"),
} as const;

/**
 * Redis commands each script runs inside (redis.call), counted in lua/admit.lua, lua/settle.lua and lua/lib.lua on
 * the path named. ElastiCache bills a script by its vCPU time relative to a simple command (or by KB moved, if more):
 * AWS publishes no formula (aws/agent-toolkit-for-aws, amazon-elasticache skill, scripts/command_classifier.py). One ECPU per call is the floor; these counts are an upper estimate (each inner command as
 * dear as a whole simple command with its network and parsing). `--ecpu commands` uses them.
 */
export const SCRIPT_COMMANDS = {
  doorRefusal: fig(10, "commands: TIME, HMGET, HINCRBY (near-cache refusals), ZREMRANGEBYSCORE, ZCARD, ZADD, PEXPIRE, HGET ledger, HGET holds, HINCRBY rejections", "code", "lua/admit.lua lines 15-68"),
  doorAccept: fig(15, "commands: TIME, HMGET, 4 rate limit, 3 HGET, 3 HINCRBY, HSET, 2 ZADD", "code", "lua/admit.lua lines 15-78, lua/lib.lua add_to_user"),
  registry: fig(1, "command: SET NX GET EX", "code", "packages/core/src/adapters/redis/requests.ts"),
  duplicate: fig(8, "commands: TIME, HMGET, 4 rate limit, HGET ledger, HINCRBY rejections", "code", "lua/admit.lua lines 15-44"),
  reserve: fig(6, "commands: TIME, HMGET, HGET ledger, HGET holds, ZSCORE, ZREM", "code", "lua/admit.lua (mode reserve) lines 15-53"),
  settle: fig(10, "commands: 2 HGET, HDEL, 3 ZREM, 2 HINCRBY, HSET, HGET stock", "code", "lua/settle.lua, lua/lib.lua drop_hold"),
} as const;

/** DynamoDB request units per path. Order records are about 0.35 KB (one WRU, one RRU). */
export const DYNAMO = {
  settleReadRru: fig(1, "RRU per settled order: its key in the batch's one strongly consistent BatchGetItem; an absent item still costs 1", "aws",
    "packages/functions/src/queue/processor.ts prefetch; DynamoDB developer guide (awsdocs copy): a strongly consistent read of a nonexistent item consumes 1 RCU"),
  settleTableWru: fig(1, "WRU per settled order: one conditional UpdateItem, item under 1 KB", "code", "packages/core/src/adapters/dynamodb/orders.ts finalize"),
  settleIndexWru: fig(1, "WRU per settled order: the by_item GSI entry the new item creates", "aws",
    "repost.aws 'dynamodb cost for index writes' (one write unit per index per new item); ORDERS_TABLE.byItem in contract/resources.ts"),
  duplicateReadRru: fig(1, "RRU per duplicate POST /buy: one strongly consistent GetItem", "code", "packages/core/src/adapters/dynamodb/orders.ts get; domain/buy.ts"),
  recordBytes: fig(700, "bytes stored per order, table item + index entry + DynamoDB's per-item overhead", "assumption", "estimated from the attributes finalize() writes"),
} as const;

/** SQS requests per path. Messages are far below 64 KB: one request each. */
export const SQS = {
  sendPerAccepted: fig(1, "SendMessage per accepted buy", "code", "packages/core/src/adapters/sqs/queue.ts enqueue"),
  receivePerBatch: fig(1, "ReceiveMessage per batch the mapping delivers", "assumption", "the mapping's own calls are not itemized by AWS"),
  deletePerBatch: fig(1, "DeleteMessageBatch per batch (its successes)", "assumption", "as above"),
  idlePollers: fig(5, "long polls the mapping keeps open on an idle queue (MaximumConcurrency set: no scale-down to 2)", "aws", "services-sqs-scaling.html"),
  idlePollSeconds: fig(20, "seconds one idle long poll waits", "assumption", "SQS's longest WaitTimeSeconds; what the mapping uses is not documented"),
} as const;

// --------------------------------------------------------------------------------------------------------------
// Latencies and sizes nobody has measured on AWS yet
// --------------------------------------------------------------------------------------------------------------

export const ASSUMED = {
  redisRoundTripMs: fig(1.0, "ms per Redis round trip, Lambda to ElastiCache Serverless in the VPC, TLS", "assumption", "not measured on AWS; SuccessfulReadRequestLatency and the buy function's Duration will tell"),
  sqsSendMs: fig(8, "ms per SendMessage through the SQS interface endpoint", "assumption", "not measured on AWS"),
  dynamoGetMs: fig(5, "ms per GetItem (strongly consistent) through the gateway endpoint", "assumption", "not measured on AWS ('single-digit milliseconds' is AWS's claim)"),
  dynamoBatchGetMs: fig(6, "ms per BatchGetItem of one batch's keys", "assumption", "not measured on AWS"),
  dynamoUpdateMs: fig(6, "ms per conditional UpdateItem (a batch's run concurrently)", "assumption", "not measured on AWS"),
  localCorePerLambdaVcpu: fig(1.0, "a core of the bench machine does as much as one Lambda vCPU (arm64)", "assumption", "the bench ran on a 2-core x86 box; not compared"),
  apiAccessLogBytes: fig(520, "bytes per API Gateway access log line (every request)", "assumption",
    "ACCESS_LOG_FORMAT in stacks/Api.ts (15 fields) filled with typical values, a mobile browser's user agent taking about 140"),
  lambdaPlatformLogBytes: fig(260, "bytes of START, END and REPORT lines per invocation (Text log format)", "assumption", "the documented line format with typical values; not measured on AWS"),
  responseBytes: fig(450, "bytes per POST /buy response out to the internet (JSON body and headers)", "assumption", "a 410 body is about 120 bytes; headers estimated"),
  rateLimitKeyBytes: fig(150, "bytes of Redis memory per buyer and item in a rate-limit window (a one-member sorted set)", "assumption", "not measured"),
  cacheBaseGb: fig(0.01, "GB the items, holds, ledgers and registry take outside a sale's rate-limit windows", "assumption", "small next to the 0.1 GB metered minimum"),
  sweeperBilledMs: fig(50, "billed ms per sweeper run (one per minute) when nothing is overdue", "assumption", "not measured on AWS"),
} as const;

/**
 * Per-request CPU time when the bench results file is missing a figure. The model reads the bench first (bench.ts);
 * these stand in only for a missing field, and the CLI says so.
 */
export const FALLBACK_CPU_MS = {
  doorRefusal: fig(0.5, "ms of event-loop time per sold-out buy that asks the door", "assumption", "used when bench/results/latest.json has no sold-out figure"),
  nearCacheRefusal: fig(0.3, "ms per sold-out buy answered from the near-cache", "assumption", "used when the bench has no warm near-cache figure"),
  accepted: fig(5, "ms per accepted buy", "assumption", "used when the bench has no accepted-orders figure"),
  settlePerOrder: fig(5, "ms per settled order in the processor", "assumption", "used when the bench has no settlement figure"),
  coldImport: fig(300, "ms of CPU to import the buy bundle at a cold start", "assumption", "used when bench/results/bundles.json has no http/buy row"),
} as const;

/**
 * Bytes the code writes to CloudWatch Logs per invocation, EMF metrics and INFO lines (the platform's lines are
 * ASSUMED.lambdaPlatformLogBytes), measured with `npx tsx scripts/capacity/log-bytes.ts` on 2026-11-22 at commit
 * 7153f6b. test/unit/capacity.test.ts measures again and fails when the code has drifted from these by over 25 %.
 */
export const LOG_BYTES = {
  buyRefused: fig(423, "bytes per sold-out refusal (EMF; the refusal itself logs at DEBUG)", "measured", "scripts/capacity/log-bytes.ts"),
  buyAccepted: fig(893, "bytes per accepted buy (EMF + 'order accepted')", "measured", "scripts/capacity/log-bytes.ts"),
  buyDuplicate: fig(441, "bytes per duplicate (EMF)", "measured", "scripts/capacity/log-bytes.ts"),
  processorBatchOf10: fig(6_880, "bytes per processor batch of 10 orders of one item (EMF + 10 'order settled')", "measured", "scripts/capacity/log-bytes.ts"),
  sweeperIdle: fig(234, "bytes per sweeper run that finds nothing overdue (EMF with OrdersExpired 0)", "measured", "scripts/capacity/log-bytes.ts"),
} as const;

/** What a deployed stage keeps standing, counted in the stacks (test/unit/capacity.test.ts counts again). */
export const DEPLOYED = {
  alarms: fig(15, "CloudWatch alarms (with a cache; dev mode has 13)", "code", "stacks/Monitoring.ts: the alarm(...) calls"),
  dashboards: fig(1, "CloudWatch dashboard", "code", "stacks/Monitoring.ts: new cw.Dashboard"),
  endpointAzs: fig(2, "AZs, each with an SQS interface endpoint (DynamoDB's gateway endpoint is free)", "code", "stacks/Network.ts: maxAzs, addInterfaceEndpoint"),
} as const;

/** Every group, for --json and the doc's source table. */
export const ALL_FIGURES = { PRICES, QUOTAS, REDIS_CALLS, SCRIPT_COMMANDS, DYNAMO, SQS, ASSUMED, FALLBACK_CPU_MS, LOG_BYTES, DEPLOYED } as const;
