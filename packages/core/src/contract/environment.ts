import * as z from "zod";
import { ORDERS_TABLE as ORDERS_TABLE_SPEC, ORDERS_TOPIC as ORDERS_TOPIC_SPEC } from "./resources";
import { ConfigError } from "../domain/errors";

/**
 * Every runtime setting the functions read, declared once, and the only place that reads the environment.
 * The stacks build each function's environment with functionEnvironment(); the local profile and the tests
 * build a Config with loadConfig() and wire it as a value. Defaults suit a flash sale.
 */
const intFrom = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

const EnvSchema = z.object({
  STAGE: z.string().default("local"),
  /** redis://host:port or rediss://host:port (TLS). */
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  /**
   * ElastiCache IAM authentication: the cache user (IAM mode) and the serverless cache's name the token is signed
   * for. Set by the stacks; unset locally, where Redis needs no authentication.
   */
  REDIS_IAM_USER: z.string().optional(),
  REDIS_CACHE_NAME: z.string().optional(),
  /** The function's own credentials, which Lambda puts in its environment; they sign the IAM token. */
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  AWS_SESSION_TOKEN: z.string().optional(),
  /** "true" on ElastiCache Serverless, which is always cluster mode. */
  REDIS_CLUSTER: z.enum(["true", "false"]).default("false"),
  REDIS_CONNECT_TIMEOUT_MS: intFrom(2000, 1),
  REDIS_COMMAND_TIMEOUT_MS: intFrom(1000, 1),
  /**
   * The longest one queue (SQS or Kafka) or DynamoDB call may take, retries included; then it is abandoned (503, or
   * a retried record).
   */
  AWS_CALL_TIMEOUT_MS: intFrom(3000, 1),
  /**
   * What the orders travel on between the buy call and the processor: an SQS queue (QUEUE_URL, DLQ_URL) or a Kafka
   * topic (KAFKA_*; on AWS an MSK Serverless cluster, the stage config's queue.transport "msk").
   */
  QUEUE_TRANSPORT: z.enum(["sqs", "kafka"]).default("sqs"),
  QUEUE_URL: z.string().default(""),
  DLQ_URL: z.string().default(""),
  /** Kafka: the bootstrap brokers, host:port[,host:port...] (on MSK the SASL/IAM bootstrap string the stacks look up). */
  KAFKA_BROKERS: z.string().default(""),
  /** Kafka: the orders topic, keyed by item_id, and the dead-letter topic beside it. */
  KAFKA_TOPIC: z.string().default(ORDERS_TOPIC_SPEC.defaultName),
  KAFKA_DEAD_LETTER_TOPIC: z.string().default(`${ORDERS_TOPIC_SPEC.defaultName}${ORDERS_TOPIC_SPEC.deadLetterSuffix}`),
  /** "true" on MSK: TLS, and SASL AWS_MSK_IAM signed with the function's own credentials (AWS_ACCESS_KEY_ID, ...). */
  KAFKA_IAM_AUTH: z.enum(["true", "false"]).default("false"),
  ORDERS_TABLE: z.string().default(ORDERS_TABLE_SPEC.defaultName),
  /** Local stand-ins or LocalStack; unset on AWS. */
  AWS_ENDPOINT_URL: z.string().optional(),
  /** Per-service endpoints, as the AWS SDKs define them; the local profile runs SQS and DynamoDB on separate ports. */
  AWS_ENDPOINT_URL_SQS: z.string().optional(),
  AWS_ENDPOINT_URL_DYNAMODB: z.string().optional(),
  AWS_REGION: z.string().default("us-east-1"),
  /** The sliding window per buyer and item: at most this many POST /buy in the window (kept in the item's slot). */
  RATE_LIMIT_MAX_REQUESTS: intFrom(60, 1),
  RATE_LIMIT_WINDOW_SECONDS: intFrom(60, 1),
  /**
   * How long an execution environment answers 410 from memory after the door said an item is sold out, without a
   * Redis call; released units become buyable again within this time. 0 turns the near-cache off.
   */
  SOLD_OUT_CACHE_MS: intFrom(250),
  /** How long a request_id is remembered for duplicate detection. */
  IDEMPOTENCY_TTL_SECONDS: intFrom(86_400, 60),
  /** Orders keep their record this long in DynamoDB (the table's TTL attribute, contract/resources.ts). */
  ORDER_RETENTION_DAYS: intFrom(90, 1),
  /**
   * The queue's redrive maxReceiveCount: the processor counts a failure on the last receive as dead-lettered. On Kafka,
   * the attempts the processor makes at one record before it writes the record to the dead-letter topic itself.
   */
  MAX_RECEIVE_COUNT: intFrom(3, 1),
  /**
   * How long an admitted request may stay unqueued with the buy call that admitted it before a retry of the same
   * request may take it over, and before the sweeper releases it. Longer than the buy function's timeout.
   */
  ADMISSION_TAKEOVER_MS: intFrom(15_000, 1),
  /** The circuit breaker around the queue (per execution environment): failures in a row that open it... */
  CIRCUIT_BREAKER_FAILURE_THRESHOLD: intFrom(5, 1),
  /** ...successes in a row, half-open, that close it... */
  CIRCUIT_BREAKER_SUCCESS_THRESHOLD: intFrom(2, 1),
  /** ...and how long it stays open: the base, doubled on each reopening up to the max (seconds). */
  CIRCUIT_BREAKER_BASE_TIMEOUT: intFrom(30, 1),
  CIRCUIT_BREAKER_MAX_TIMEOUT: intFrom(300, 1),
  /** How long the orders queue (or topic) keeps a message: a hold older than this can no longer be delivered, and expires. */
  QUEUE_RETENTION_SECONDS: intFrom(4 * 86_400, 1),
  /** How long a dead-lettered order keeps its units (the operators' window to redrive it); then the sweeper expires it. */
  RESERVATION_TTL_SECONDS: intFrom(900, 1),
  /** Holds released per batch; the sweeper loops until an item has no more expired holds. */
  SWEEP_BATCH_SIZE: intFrom(100, 1),
  PAYMENT_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Comma-separated user ids whose payments the simulated provider always declines. */
  PAYMENT_DECLINE_USERS: z.string().default(""),
  /**
   * Buyer identity. Set: the buyer routes (POST /buy, GET /orders/{request_id}) take the buyer from this claim of
   * the token the gateway verified (requestContext.authorizer.jwt.claims), and refuse a request that carries none.
   * Unset: the buyer is the body's user_id, as the caller (a storefront backend) says. The stacks set it when the
   * stage configures auth.jwt; the local profile sets it ("sub" unless given) when it verifies tokens itself.
   */
  AUTH_USER_CLAIM: z.string().regex(/^\S{1,200}$/, "must be a claim name (1-200 characters, no spaces)").optional(),
  /**
   * The local profile's JWT authorizer (on AWS, API Gateway's, configured by the stacks): the issuer a token's
   * `iss` must equal, the audiences its `aud` (or, without `aud`, `client_id`) must name one of (comma-separated),
   * and its key set (unset: found through the issuer's /.well-known/openid-configuration).
   */
  AUTH_JWT_ISSUER: z.url().optional(),
  AUTH_JWT_AUDIENCE: z.string().optional(),
  AUTH_JWKS_URL: z.url().optional(),
  /** "1": the local profile runs a dev issuer of its own (issuer: its URL) and verifies its tokens. Never on AWS. */
  AUTH_DEV_ISSUER: z.enum(["0", "1"]).default("0"),
  /** Where the Lua scripts are; found beside the bundle (LAMBDA_TASK_ROOT/lua) or the repo's lua/ when unset. */
  LUA_DIR: z.string().optional(),
  /** Set by Lambda. */
  LAMBDA_TASK_ROOT: z.string().optional(),
});

export type Config = z.infer<typeof EnvSchema>;

/** What the functions do when a setting is not given: the stacks start from these too. */
export const DEFAULTS: Config = EnvSchema.parse({});

/** Every setting's name, those without a default included (.env.example and the README list each one). */
export const SETTING_NAMES: readonly string[] = Object.keys(EnvSchema.shape);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration: ${fields}`);
  }
  return parsed.data;
}

/**
 * A function's environment for the stacks: the settings as strings, checked against the schema at synth time,
 * so a value the functions would refuse at init fails the deploy instead.
 */
export function functionEnvironment(settings: { [K in keyof Config]?: Config[K] }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings)) if (value !== undefined) env[key] = String(value);
  loadConfig(env);
  return env;
}

/** True inside a Lambda execution environment. */
export const onLambda = (): boolean => Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);
