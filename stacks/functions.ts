import { Function as SstFunction, use, type App, type FunctionProps, type Stack } from "sst/constructs";
import { RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { NagSuppressions } from "cdk-nag";
import { getStageConfig, resolveBuyerJwt } from "./config.js";
import { Network } from "./Network.js";
import { Cache } from "./Cache.js";
import { Orders } from "./Orders.js";
import { useKafka } from "./Kafka.js";
import { functionEnvironment } from "@flash/core/contract/environment";
import { METRICS_NAMESPACE, SERVICE_NAME } from "@flash/core/contract/metrics";

/**
 * The Lambda runtime. SST 2.49.8 maps "nodejs16.x" ... "nodejs24.x" in
 * node_modules/sst/constructs/Function.js (`supportedRuntimes`) and defaults to
 * "nodejs22.x". We pin nodejs22.x explicitly (the newest LTS both SST and Lambda treat
 * as the default).
 */
export const RUNTIME = "nodejs22.x" as const;

/** The bundle entry of a handler module under packages/functions/src, e.g. handlerPath("http/buy"). */
export const handlerPath = (module: string) => `packages/functions/src/${module}.handler`;

/**
 * Props every function in the app shares (set once with `app.setDefaultFunctionProps`):
 * runtime, arm64, ESM bundle with the AWS SDK v3 left out (the Lambda runtime provides
 * it) and the Lua scripts copied next to the bundle.
 */
export function defaultFunctionProps(): FunctionProps {
  return {
    runtime: RUNTIME,
    architecture: "arm_64",
    // X-Ray would need xray:PutTraceSegments on "*"; the app uses EMF metrics + logs instead.
    tracing: "disabled",
    copyFiles: [{ from: "lua", to: "lua" }],
    nodejs: {
      format: "esm",
      // Smaller bundle, faster cold start. Sourcemaps are still produced (SST uploads them).
      minify: true,
      // A dynamic import becomes a chunk of its own, loaded when it runs: the Kafka adapter and kafkajs stay out of
      // every function's start on an SQS stage (runtime/wire.ts imports them only when the transport is Kafka).
      splitting: true,
      esbuild: { external: ["@aws-sdk/*"] },
    },
  };
}

/**
 * The environment every function gets: the settings of contract/environment.ts from the stage config and the
 * other stacks, checked against the functions' own schema at synth time.
 */
export function appEnvironment(app: App): Record<string, string> {
  const config = getStageConfig(app.stage);
  const { redisUrl, redisCluster, iamUser, cacheName } = use(Cache);
  const { queue, dlq, table } = use(Orders);
  const kafka = useKafka(app.stage);
  // The transport: the queue's URLs, or (queue.transport "msk") the cluster's brokers and the topics.
  const transport =
    config.queue.transport === "msk"
      ? {
          QUEUE_TRANSPORT: "kafka" as const,
          KAFKA_BROKERS: kafka.brokers,
          KAFKA_TOPIC: kafka.topics?.orders,
          KAFKA_DEAD_LETTER_TOPIC: kafka.topics?.deadLetter,
          KAFKA_IAM_AUTH: "true" as const,
        }
      : { QUEUE_URL: queue?.queueUrl, DLQ_URL: dlq?.queueUrl };
  return {
    ...functionEnvironment({
      STAGE: app.stage,
      REDIS_URL: redisUrl,
      REDIS_CLUSTER: redisCluster as "true" | "false",
      REDIS_IAM_USER: iamUser?.userId,
      REDIS_CACHE_NAME: cacheName,
      ...transport,
      ORDERS_TABLE: table.tableName,
      RATE_LIMIT_MAX_REQUESTS: config.app.rateLimitMaxRequests,
      RATE_LIMIT_WINDOW_SECONDS: config.app.rateLimitWindowSeconds,
      SOLD_OUT_CACHE_MS: config.app.soldOutCacheMs,
      IDEMPOTENCY_TTL_SECONDS: config.app.idempotencyTtlSeconds,
      ORDER_RETENTION_DAYS: config.app.orderRetentionDays,
      PAYMENT_FAILURE_RATE: config.app.paymentFailureRate,
      RESERVATION_TTL_SECONDS: config.sweeper.reservationTtlSeconds,
      QUEUE_RETENTION_SECONDS: config.queue.retentionDays * 86_400,
      MAX_RECEIVE_COUNT: config.queue.maxReceiveCount,
      // A buy call cannot outlive its function: after its timeout (and a margin) a retry may take its admission over.
      ADMISSION_TAKEOVER_MS: (config.apiFunctions.timeoutSeconds + 5) * 1000,
      // Buyer identity on: the buyer routes take the buyer from this claim of the token API Gateway verified.
      AUTH_USER_CLAIM: resolveBuyerJwt(app.stage, config)?.userClaim,
    }),
    // Read by Powertools itself.
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  };
}

export interface AppFunctionProps {
  /** handlerPath("http/buy") */
  handler: string;
  /** Explicit least-privilege statements (no SST `bind`). */
  permissions?: iam.PolicyStatement[];
  timeoutSeconds: number;
  memoryMb: number;
  description?: string;
  /** Reserved concurrency; none (the account's unreserved pool) if unset. */
  reservedConcurrency?: number;
  /**
   * A deploy-time helper, not part of the engine: none of the app's settings in its environment and no access to the
   * cache (it still runs in the VPC, with the Lambda security group and its own log group).
   */
  standalone?: boolean;
}

/**
 * The EC2 network-interface actions that AWSLambdaVPCAccessExecutionRole allows on "*" so that the Lambda service can
 * manage the function's ENIs. Function code never needs them: each function's role denies them for calls made from
 * its own code (condition lambda:SourceFunctionArn), as the AWS Lambda developer guide documents.
 */
export const ENI_ACTIONS_DENIED_TO_CODE = [
  "ec2:CreateNetworkInterface",
  "ec2:DeleteNetworkInterface",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DetachNetworkInterface",
  "ec2:AssignPrivateIpAddresses",
  "ec2:UnassignPrivateIpAddresses",
];

/** Authenticating to the cache as its IAM-mode user: elasticache:Connect on the cache and on that user. */
function cacheConnect(app: App): iam.PolicyStatement[] {
  const { cache, iamUser } = use(Cache);
  if (!cache || !iamUser) return []; // dev mode: a Redis of your own
  return [new iam.PolicyStatement({ actions: ["elasticache:Connect"], resources: [cache.attrArn, iamUser.attrArn] })];
}

/**
 * An SST Function with the app's environment, its own log group (retention from the stage
 * config; no LogRetention custom resource) and, outside dev mode, placed in the isolated
 * subnets with the Lambda security group, its code denied the ENI actions of the VPC policy.
 */
export function createFunction(stack: Stack, id: string, props: AppFunctionProps): SstFunction {
  const app = stack.node.root as App;
  const config = getStageConfig(app.stage);
  const { vpc, lambdaSecurityGroup, subnets } = use(Network);

  const logGroup = new logs.LogGroup(stack, `${id}Logs`, {
    retention: logs.RetentionDays[config.logRetention.toUpperCase() as keyof typeof logs.RetentionDays],
    removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });

  const inVpc = app.mode !== "dev";
  if (inVpc && (!vpc || !lambdaSecurityGroup || !subnets)) {
    throw new Error("Network stack did not create a VPC");
  }

  const fn = new SstFunction(stack, id, {
    handler: props.handler,
    description: props.description,
    timeout: props.timeoutSeconds,
    memorySize: props.memoryMb,
    environment: props.standalone ? {} : appEnvironment(app),
    permissions: [...(props.permissions ?? []), ...(props.standalone ? [] : cacheConnect(app))],
    logGroup,
    ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
    ...(inVpc
      ? { vpc, vpcSubnets: subnets, securityGroups: [lambdaSecurityGroup!] }
      : {}),
  });

  if (inVpc) {
    // A policy of its own, not a statement in the role's default policy: the function depends on its default policy,
    // and this statement needs the function's ARN (a cycle otherwise).
    new iam.Policy(stack, `${id}DenyEniFromCode`, {
      roles: [fn.role!],
      statements: [
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: ENI_ACTIONS_DENIED_TO_CODE,
          resources: ["*"],
          conditions: { ArnEquals: { "lambda:SourceFunctionArn": fn.functionArn } },
        }),
      ],
    });
  }

  NagSuppressions.addResourceSuppressions(fn.role!, [
    {
      id: "AwsSolutions-IAM4",
      reason: "CDK attaches AWSLambdaBasicExecutionRole (logs) and, in the VPC, AWSLambdaVPCAccessExecutionRole (the ENIs Lambda creates for the function, which need Resource *). Function code is denied the ENI actions by its DenyEniFromCode policy.",
      appliesTo: [
        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
      ],
    },
  ]);
  const pinnedRuntime = `${RUNTIME} is pinned on purpose (RUNTIME in stacks/functions.ts): a Node LTS that Lambda supports and SST 2.49.8 defaults to. Moving to a new Node major (nodejs24.x) is its own change, tested on its own.`;
  NagSuppressions.addResourceSuppressions(fn, [
    { id: "AwsSolutions-L1", reason: pinnedRuntime },
    { id: "Serverless-LambdaLatestVersion", reason: pinnedRuntime },
    {
      id: "Serverless-LambdaTracing",
      reason: "X-Ray is off on purpose: it needs xray:PutTraceSegments on Resource *, and the app follows requests with correlation ids in its logs and EMF metrics instead.",
    },
  ]);

  return fn;
}
