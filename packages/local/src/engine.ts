import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, type Config } from "@flash/core/contract/environment";
import { NOT_ALLOWED_PATHS, ROUTES, type HandlerName } from "@flash/core/contract/routes";
import { sqsClient } from "@flash/core/adapters/sqs/queue";
import { useRuntime, wire } from "@flash/core/runtime/wire";
import { handler as buy } from "@flash/functions/http/buy";
import { handler as order } from "@flash/functions/http/order";
import { handler as health } from "@flash/functions/http/health";
import { handler as item } from "@flash/functions/http/item";
import { handler as notAllowed } from "@flash/functions/http/not-allowed";
import { handler as admin } from "@flash/functions/http/admin";
import { handler as processor } from "@flash/functions/queue/processor";
import { handler as kafkaProcessor } from "@flash/functions/queue/kafka-processor";
import { handler as sweeper } from "@flash/functions/schedule/sweeper";
import { LocalGateway, type Handler, type StaticSite } from "./gateway";
import { DevIssuer } from "./dev-issuer";
import { JwtAuthorizer } from "./jwt";
import { lambdaContext } from "./lambda-context";
import { QueuePoller } from "./queue-poller";
import { ORDERS_TOPIC } from "@flash/core/contract/resources";
import { startRedisServer, type RedisServer } from "./redis-server";
import { createResources, LOCAL_CREDENTIALS, startStandIns, type AwsResources } from "./stand-ins";

/** The handler module behind each name in contract/routes.ts. */
const HTTP_HANDLERS: Record<HandlerName, Handler> = { buy, order, item, health, admin };

export interface LocalEngineOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Empty or unset: one is generated. */
  adminToken?: string;
  /** Use this Redis instead of starting redis-server. */
  redisUrl?: string;
  /** Batches processed at once, like the event source mapping's maximumConcurrency. */
  processorConcurrency?: number;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  /** How often the reservation sweeper runs, like the EventBridge schedule on AWS (default 60 s; 0 turns it off). */
  sweepIntervalMs?: number;
  /**
   * Settings for the functions, as their environment would carry them (contract/environment.ts): rate limits,
   * payment simulation, ... With QUEUE_URL, or AWS_ENDPOINT_URL (LocalStack), the engine uses those resources
   * instead of starting the in-process stand-ins. AUTH_JWT_ISSUER (with AUTH_JWT_AUDIENCE, AUTH_JWKS_URL) or
   * AUTH_DEV_ISSUER=1 turn buyer identity on: the gateway verifies tokens as API Gateway's JWT authorizer does.
   */
  env?: Record<string, string | undefined>;
  /**
   * The storefront (storefront/ at the repository root) at `/`, beside the API: on by default; false turns it off.
   * `items` are the items the page shows when its address names none (`?items=...`); default sku-1.
   */
  storefront?: false | { items?: string[] };
}

/** Buyer identity as this engine runs it; undefined when it is off (the body's user_id names the buyer). */
export interface BuyerAuth {
  issuer: string;
  audience: readonly string[];
  /** The key set's URL; unset with the dev issuer (its own keys), or when found through the issuer's discovery document. */
  jwksUrl?: string;
  userClaim: string;
  /** The engine is its own issuer (AUTH_DEV_ISSUER=1): `npm run ops -- token <user_id>` hands out tokens. */
  dev: boolean;
}

export interface LocalEngine {
  url: string;
  adminToken: string;
  redisUrl: string;
  config: Config;
  resources: AwsResources;
  /** The event source mapping's stand-in: SQS long polling, or (QUEUE_TRANSPORT=kafka) a consumer group on the orders topic. */
  poller: { batches: number; stop(): Promise<void> };
  auth?: BuyerAuth;
  /** The dev issuer (AUTH_DEV_ISSUER=1), which signs tokens for any buyer. */
  devIssuer?: DevIssuer;
  /** Run the sweeper now (it also runs on its timer); resolves to the number of reservations expired. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The local profile: one process serving the HTTP API and running the processor the way the SQS event
 * source mapping does, against a real Redis and fauxqs/dynalite (or LocalStack/AWS when AWS_ENDPOINT_URL
 * or QUEUE_URL is given). With QUEUE_TRANSPORT=kafka and KAFKA_BROKERS, the orders go through that Kafka-protocol
 * broker instead (topics created if missing), consumed the way the MSK event source mapping does (kafka-poller.ts).
 * Configuration goes to the handlers as a value; nothing here touches process.env.
 */
export async function startLocalEngine(options: LocalEngineOptions = {}): Promise<LocalEngine> {
  const env = Object.fromEntries(Object.entries(options.env ?? {}).filter(([, v]) => v !== undefined && v !== "")) as Record<string, string>;
  const defaults = loadConfig(env); // refuses a bad setting before anything starts
  const identity = buyerIdentity(defaults);
  const adminToken = options.adminToken || randomBytes(16).toString("hex");
  const maxReceiveCount = options.maxReceiveCount ?? defaults.MAX_RECEIVE_COUNT;
  const queueSettings = { maxReceiveCount, visibilityTimeoutSeconds: options.visibilityTimeoutSeconds, region: defaults.AWS_REGION };

  const started: { stop(): Promise<void> }[] = []; // stopped in reverse if anything later fails
  try {
    const redis: RedisServer | undefined = options.redisUrl ? undefined : await startRedisServer();
    if (redis) started.push(redis);
    let resources: AwsResources;
    let credentials: typeof LOCAL_CREDENTIALS | undefined;
    if (env.QUEUE_URL) {
      resources = { queueUrl: env.QUEUE_URL, dlqUrl: env.DLQ_URL ?? "", table: defaults.ORDERS_TABLE, stop: async () => undefined };
      credentials = env.AWS_ACCESS_KEY_ID ? undefined : LOCAL_CREDENTIALS;
    } else if (env.AWS_ENDPOINT_URL) {
      const created = await createResources({ ...queueSettings, sqsEndpoint: env.AWS_ENDPOINT_URL, dynamoEndpoint: env.AWS_ENDPOINT_URL });
      resources = { ...created, stop: async () => undefined };
    } else {
      resources = await startStandIns(queueSettings);
      started.push(resources);
      credentials = LOCAL_CREDENTIALS;
    }

    const config = loadConfig({
      ...env,
      REDIS_URL: options.redisUrl ?? redis!.url,
      QUEUE_URL: resources.queueUrl,
      DLQ_URL: resources.dlqUrl,
      ORDERS_TABLE: resources.table,
      MAX_RECEIVE_COUNT: String(maxReceiveCount),
      ...(identity ? { AUTH_USER_CLAIM: identity.userClaim } : {}),
      ...(resources.sqsEndpoint ? { AWS_ENDPOINT_URL_SQS: resources.sqsEndpoint } : {}),
      ...(resources.dynamoEndpoint ? { AWS_ENDPOINT_URL_DYNAMODB: resources.dynamoEndpoint } : {}),
    });
    await useRuntime(wire(config, { credentials }));
    started.push({ stop: () => useRuntime(undefined) });

    const devIssuer = identity?.dev ? await DevIssuer.create({ audience: identity.audience, userClaim: identity.userClaim }) : undefined;
    const gateway = new LocalGateway(
      [
        ...ROUTES.map((route) => ({
          method: route.method,
          path: route.path,
          handler: HTTP_HANDLERS[route.handler],
          admin: route.auth === "admin",
          jwt: route.auth === "buyer" && identity !== undefined,
        })),
        // Behind them, as on AWS: any other method on those paths answers 405 with Allow.
        ...NOT_ALLOWED_PATHS.map((path) => ({ method: "ANY", path, handler: notAllowed })),
        ...(devIssuer?.routes() ?? []),
      ],
      adminToken,
      undefined,
      options.storefront === false ? undefined : storefrontSite(env, options.storefront?.items),
    );
    if (identity && !identity.dev) gateway.useAuthorizer(new JwtAuthorizer({ issuer: identity.issuer, audience: identity.audience, jwks: identity.jwksUrl }));
    const url = await gateway.listen(options.port ?? 3000);
    started.push({ stop: () => gateway.close() });
    // The dev issuer is the engine's URL, known now; until this line its buyer routes answered 401.
    let auth: BuyerAuth | undefined = identity;
    if (devIssuer) {
      devIssuer.setIssuer(url);
      auth = { ...identity!, issuer: devIssuer.issuer, audience: devIssuer.audience };
      gateway.useAuthorizer(new JwtAuthorizer({ issuer: devIssuer.issuer, audience: devIssuer.audience, jwks: devIssuer.jwks() }));
    }
    let poller: LocalEngine["poller"];
    let sqs: { destroy(): void } | undefined;
    if (config.QUEUE_TRANSPORT === "kafka") {
      const { kafkaClient } = await import("@flash/core/adapters/kafka/client");
      const { ensureTopics } = await import("@flash/core/adapters/kafka/topics");
      const { KafkaPoller } = await import("./kafka-poller");
      const kafka = kafkaClient(config);
      const partitions = Number(env.KAFKA_PARTITIONS ?? ORDERS_TOPIC.localPartitions);
      await ensureTopics(kafka, [
        { name: config.KAFKA_TOPIC, partitions },
        { name: config.KAFKA_DEAD_LETTER_TOPIC, partitions },
      ]);
      poller = await new KafkaPoller({
        kafka,
        topic: config.KAFKA_TOPIC,
        deadLetterTopic: config.KAFKA_DEAD_LETTER_TOPIC,
        groupId: env.KAFKA_CONSUMER_GROUP ?? "flash-sale-processor",
        handler: kafkaProcessor,
        concurrency: options.processorConcurrency ?? 4,
      }).start();
    } else {
      const client = await sqsClient({ ...config, credentials });
      sqs = client;
      poller = new QueuePoller({ sqs: client, queueUrl: resources.queueUrl, handler: processor, concurrency: options.processorConcurrency ?? 4, region: config.AWS_REGION }).start();
    }
    started.push({ stop: () => poller.stop() });

    // The sweeper's schedule: runs never overlap, as one scheduled Lambda invocation at a time would not either.
    let sweeping: Promise<number> | undefined;
    const sweep = () =>
      (sweeping ??= sweeper({ source: "local.timer" }, lambdaContext("sweeper"))
        .then((r: { expired: number }) => r.expired)
        .finally(() => (sweeping = undefined)));
    const sweepEvery = options.sweepIntervalMs ?? 60_000;
    const timer = sweepEvery > 0 ? setInterval(() => void sweep().catch(() => undefined), sweepEvery) : undefined;

    let stopping: Promise<void> | undefined;
    return {
      url,
      adminToken,
      redisUrl: config.REDIS_URL,
      config,
      resources,
      poller,
      auth,
      devIssuer,
      sweep,
      stop() {
        // Order matters: no new requests, then let batches in flight finish, then drop the services.
        return (stopping ??= (async () => {
          await gateway.close();
          clearInterval(timer);
          await sweeping?.catch(() => undefined);
          await poller.stop();
          sqs?.destroy();
          await useRuntime(undefined);
          await resources.stop();
          await redis?.stop();
        })());
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * Buyer identity from the settings: an issuer of tokens (AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE, AUTH_JWKS_URL
 * optional) or the engine's own dev issuer (AUTH_DEV_ISSUER=1), or neither. Refuses half a configuration.
 */
export function buyerIdentity(config: Config): BuyerAuth | undefined {
  const audience = (config.AUTH_JWT_AUDIENCE ?? "").split(",").map((a) => a.trim()).filter(Boolean);
  const userClaim = config.AUTH_USER_CLAIM ?? "sub";
  if (config.AUTH_DEV_ISSUER === "1") {
    if (config.AUTH_JWT_ISSUER || config.AUTH_JWKS_URL) {
      throw new Error("invalid configuration: AUTH_DEV_ISSUER=1 is its own issuer; unset AUTH_JWT_ISSUER and AUTH_JWKS_URL, or AUTH_DEV_ISSUER");
    }
    return { issuer: "", audience, userClaim, dev: true }; // the issuer is the engine's URL, once it listens
  }
  if (config.AUTH_JWT_ISSUER) {
    if (!audience.length) throw new Error("invalid configuration: AUTH_JWT_ISSUER needs AUTH_JWT_AUDIENCE (comma-separated audiences a token may name)");
    return { issuer: config.AUTH_JWT_ISSUER, audience, jwksUrl: config.AUTH_JWKS_URL, userClaim, dev: false };
  }
  const stray = (["AUTH_JWT_AUDIENCE", "AUTH_JWKS_URL", "AUTH_USER_CLAIM"] as const).filter((k) => config[k] !== undefined);
  if (stray.length) throw new Error(`invalid configuration: ${stray.join(", ")} set without AUTH_JWT_ISSUER or AUTH_DEV_ISSUER=1`);
  return undefined;
}

/** The storefront's folder: storefront/ at the repository root (this file is packages/local/src/engine.ts). */
export function storefrontDir(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 5; dir = dirname(dir), i++) {
    if (existsSync(join(dir, "storefront", "index.html"))) return join(dir, "storefront");
  }
  return undefined;
}

/**
 * The storefront as the local gateway serves it: its files, and a /config.js of its own in place of the one the AWS
 * deploy fills in. The API is this same origin (apiUrl ""); identity is on when the dev issuer is (AUTH_DEV_ISSUER).
 */
function storefrontSite(env: Record<string, string>, items: string[] | undefined): StaticSite | undefined {
  const dir = storefrontDir();
  if (!dir) return undefined;
  const auth = ["1", "true"].includes((env.AUTH_DEV_ISSUER ?? "").toLowerCase());
  const config = { apiUrl: "", auth, items: items?.length ? items : ["sku-1"] };
  return { dir, generated: { "/config.js": () => `window.STOREFRONT_CONFIG = ${JSON.stringify(config)};\n` } };
}
