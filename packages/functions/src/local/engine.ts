import { randomBytes } from "node:crypto";
import { closeRuntime, runtime } from "@flash/core/runtime";
import { sqsClient } from "@flash/core/adapters/sqs";
import { handler as buy } from "../buy";
import { handler as order } from "../order";
import { handler as health } from "../health";
import { handler as admin } from "../admin";
import { handler as processor } from "../processor";
import { handler as sweeper } from "../sweeper";
import { LocalGateway } from "./gateway";
import { lambdaContext } from "./lambda-context";
import { QueuePoller } from "./queue-poller";
import { startRedisServer, type RedisServer } from "./redis-server";
import { createResources, startStandIns, type AwsResources } from "./stand-ins";

export interface LocalEngineOptions {
  port?: number;
  adminToken?: string;
  /** Use this Redis instead of starting redis-server. */
  redisUrl?: string;
  /** Batches processed at once, like the event source mapping's maximumConcurrency. */
  processorConcurrency?: number;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  /** How often the reservation sweeper runs, like the EventBridge schedule on AWS (default 60 s; 0 turns it off). */
  sweepIntervalMs?: number;
  /** Extra environment for the handlers (rate limits, payment simulation, ...). */
  env?: Record<string, string>;
}

export interface LocalEngine {
  url: string;
  adminToken: string;
  redisUrl: string;
  resources: AwsResources;
  poller: QueuePoller;
  /** Run the sweeper now (it also runs on its timer); resolves to the number of reservations expired. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The local profile: one process serving the HTTP API and running the processor the way the SQS event
 * source mapping does, against a real Redis and fauxqs/dynalite (or LocalStack/AWS when AWS_ENDPOINT_URL
 * or QUEUE_URL is set).
 */
export async function startLocalEngine(options: LocalEngineOptions = {}): Promise<LocalEngine> {
  const env = { ...process.env, ...options.env };
  // An empty ADMIN_TOKEN is unset: an empty bearer token would lock every admin route.
  const adminToken = options.adminToken || env.ADMIN_TOKEN || randomBytes(16).toString("hex");
  const redisUrl = options.redisUrl || env.REDIS_URL || undefined; // empty means unset
  const redis: RedisServer | undefined = redisUrl ? undefined : await startRedisServer();
  const queueSettings = { maxReceiveCount: options.maxReceiveCount ?? Number(env.MAX_RECEIVE_COUNT ?? 3), visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30 };
  let resources: AwsResources;
  if (env.QUEUE_URL) {
    resources = { queueUrl: env.QUEUE_URL, dlqUrl: env.DLQ_URL ?? "", table: env.ORDERS_TABLE ?? "orders", stop: async () => undefined };
  } else if (env.AWS_ENDPOINT_URL) {
    resources = { ...(await createResources({ ...queueSettings, sqsEndpoint: env.AWS_ENDPOINT_URL, dynamoEndpoint: env.AWS_ENDPOINT_URL })), stop: async () => undefined };
  } else {
    // The stand-ins accept any credentials; these keep the SDK from looking for real ones.
    process.env.AWS_ACCESS_KEY_ID ??= "local";
    process.env.AWS_SECRET_ACCESS_KEY ??= "local";
    resources = await startStandIns(queueSettings);
  }

  Object.assign(process.env, options.env, {
    REDIS_URL: redisUrl ?? redis!.url,
    QUEUE_URL: resources.queueUrl,
    DLQ_URL: resources.dlqUrl,
    ORDERS_TABLE: resources.table,
    MAX_RECEIVE_COUNT: String(queueSettings.maxReceiveCount),
    ...(resources.sqsEndpoint ? { AWS_ENDPOINT_URL_SQS: resources.sqsEndpoint } : {}),
    ...(resources.dynamoEndpoint ? { AWS_ENDPOINT_URL_DYNAMODB: resources.dynamoEndpoint } : {}),
  });
  await closeRuntime();
  runtime(); // wire now, so configuration errors surface at start rather than on the first request

  const gateway = new LocalGateway(
    [
      { method: "POST", path: "/buy", handler: buy },
      { method: "GET", path: "/orders/{request_id}", handler: order },
      { method: "GET", path: "/health", handler: health },
      { method: "PUT", path: "/admin/items/{item_id}", handler: admin, admin: true },
      { method: "GET", path: "/admin/items/{item_id}", handler: admin, admin: true },
      { method: "GET", path: "/admin/items", handler: admin, admin: true },
      { method: "POST", path: "/admin/items/{item_id}/reconcile", handler: admin, admin: true },
      { method: "GET", path: "/admin/items/{item_id}/report", handler: admin, admin: true },
    ],
    adminToken,
  );
  const url = await gateway.listen(options.port ?? Number(env.PORT ?? 3000));
  const sqs = sqsClient({ AWS_REGION: process.env.AWS_REGION ?? "us-east-1", AWS_ENDPOINT_URL_SQS: process.env.AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL });
  const poller = new QueuePoller({ sqs, queueUrl: resources.queueUrl, handler: processor, concurrency: options.processorConcurrency ?? 4 }).start();

  // The sweeper's schedule: runs never overlap, as one scheduled Lambda invocation at a time would not either.
  let sweeping: Promise<number> | undefined;
  const sweep = () =>
    (sweeping ??= sweeper({ source: "local.timer" }, lambdaContext("sweeper"))
      .then((r: { expired: number }) => r.expired)
      .finally(() => (sweeping = undefined)));
  const sweepEvery = options.sweepIntervalMs ?? Number(env.SWEEP_INTERVAL_SECONDS ?? 60) * 1000;
  const timer = sweepEvery > 0 ? setInterval(() => void sweep().catch(() => undefined), sweepEvery) : undefined;

  let stopping: Promise<void> | undefined;
  return {
    url,
    adminToken,
    redisUrl: process.env.REDIS_URL!,
    resources,
    poller,
    sweep,
    stop() {
      // Order matters: no new requests, then let batches in flight finish, then drop the services.
      return (stopping ??= (async () => {
        await gateway.close();
        clearInterval(timer);
        await sweeping?.catch(() => undefined);
        await poller.stop();
        sqs.destroy();
        await closeRuntime();
        await resources.stop();
        await redis?.stop();
      })());
    },
  };
}
