import { Api as SstApi, use, type StackContext, type Function as SstFunction } from "sst/constructs";
import * as iam from "aws-cdk-lib/aws-iam";
import type { CfnRoute } from "aws-cdk-lib/aws-apigatewayv2";
import { NagSuppressions } from "cdk-nag";
import { apiCorsOrigins, getStageConfig, resolveBuyerJwt } from "./config.js";
import { createFunction, handlerPath } from "./functions.js";
import { Orders } from "./Orders.js";
import { kafkaGrants, useKafka } from "./Kafka.js";
import { ORDERS_TABLE } from "@flash/core/contract/resources";
import { NOT_ALLOWED_PATHS, ROUTES, routeKey, type HandlerName, type Route } from "@flash/core/contract/routes";

export interface ApiOutputs {
  api: SstApi;
  buy: SstFunction;
  order: SstFunction;
  health: SstFunction;
  admin: SstFunction;
}

/** The name of the buyer routes' JWT authorizer (when the stage configures buyer identity). */
export const BUYER_AUTHORIZER = "buyer";

/** "ANY <path>" behind each served path: the 405 for a wrong method, open to anyone (it reads no data). */
export const NOT_ALLOWED_ROUTES: string[] = NOT_ALLOWED_PATHS.map((path) => `ANY ${path}`);

/**
 * The routes anyone may call: the public ones, the 405 routes, and the buyer routes unless the stage has buyer
 * identity (then they need a verified JWT). Admin routes always require IAM (SigV4). From contract/routes.ts.
 */
export const openRoutes = (buyerIdentity: boolean): string[] => [
  ...ROUTES.filter((r) => r.auth === "public" || (r.auth === "buyer" && !buyerIdentity)).map(routeKey),
  ...NOT_ALLOWED_ROUTES,
];

/**
 * The access log line: JSON, every value quoted (so that the format itself parses as JSON), with who called
 * (`userArn`: the IAM principal of a SigV4-signed admin call) and why a request failed (`errorMessage`).
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestTime: "$context.requestTime",
  requestId: "$context.requestId",
  httpMethod: "$context.httpMethod",
  path: "$context.path",
  routeKey: "$context.routeKey",
  status: "$context.status",
  responseLatency: "$context.responseLatency",
  integrationRequestId: "$context.integration.requestId",
  integrationStatus: "$context.integration.status",
  integrationLatency: "$context.integration.latency",
  integrationServiceStatus: "$context.integration.integrationStatus",
  ip: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  userArn: "$context.identity.userArn",
  errorMessage: "$context.error.message",
});

/** Lambda's async dead-letter queues (and on-failure destinations) do not apply to synchronous invocations. */
const SYNCHRONOUS_NO_DLQ = {
  id: "Serverless-LambdaDLQ",
  reason: "Invoked synchronously by API Gateway only: the caller gets the error, and an async DLQ never receives anything.",
};

/**
 * The HTTP API (API Gateway v2), its routes as contract/routes.ts declares them: "public" routes for anyone,
 * "admin" routes IAM-signed (SigV4) only. One function per handler module.
 */
export function Api({ stack, app }: StackContext): ApiOutputs {
  const config = getStageConfig(app.stage);
  const { queue, table } = use(Orders);
  const kafka = useKafka(app.stage);
  const onKafka = config.queue.transport === "msk";
  const fn = config.apiFunctions;
  const buyerJwt = resolveBuyerJwt(app.stage, config);

  const buy = createFunction(stack, "Buy", {
    handler: handlerPath("http/buy"),
    description: "POST /buy: rate limit, idempotency, reserve stock in Valkey, enqueue order",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: fn.memoryMb,
    permissions: [
      // The enqueue: to the orders queue, or (MSK) to the orders topic with the idempotent producer.
      ...(onKafka ? kafkaGrants.producer(kafka, kafka.topics!.orders) : [new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [queue!.queueArn] })]),
      // A duplicate request_id answers with the stored order's status.
      new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: [table.tableArn] }),
    ],
  });

  const order = createFunction(stack, "Order", {
    handler: handlerPath("http/order"),
    description: "GET /orders/{request_id}",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: fn.memoryMb,
    permissions: [new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: [table.tableArn] })],
  });

  // The storefront's public read of an item: Valkey only, one script call.
  const item = createFunction(stack, "Item", {
    handler: handlerPath("http/item"),
    description: "GET /items/{item_id}: stock left and sale window, public, cacheable for 1 s",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: 256,
  });

  // Any other method on a served path: 405 with Allow, from the route table alone (no data, no secrets).
  const notAllowed = createFunction(stack, "NotAllowed", {
    handler: handlerPath("http/not-allowed"),
    description: "ANY <path>: 405 method_not_allowed with the Allow header",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: 128,
  });

  const health = createFunction(stack, "Health", {
    handler: handlerPath("http/health"),
    description: "GET /health: Valkey ping, queue and table reachability",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: 256,
    permissions: [
      // The orders queue only: the health check reads one attribute of it (MSK: the orders topic's metadata).
      ...(onKafka ? kafkaGrants.describe(kafka) : [new iam.PolicyStatement({ actions: ["sqs:GetQueueAttributes"], resources: [queue!.queueArn] })]),
      new iam.PolicyStatement({ actions: ["dynamodb:DescribeTable"], resources: [table.tableArn] }),
    ],
  });

  // The admin handler talks to Valkey, and reads orders by item (reconcile, sale report) from the index only.
  const admin = createFunction(stack, "Admin", {
    handler: handlerPath("http/admin"),
    description: "/admin/items...: load and inspect stock, reconcile, sale report (IAM auth)",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: 256,
    permissions: [new iam.PolicyStatement({ actions: ["dynamodb:Query"], resources: [`${table.tableArn}/index/${ORDERS_TABLE.byItem.name}`] })],
  });
  NagSuppressions.addResourceSuppressions([buy, order, item, notAllowed, health, admin], [SYNCHRONOUS_NO_DLQ]);
  const functions: Record<HandlerName, SstFunction> = { buy, order, item, health, admin };

  const api = new SstApi(stack, "Api", {
    cors: {
      // api.corsOrigins and this stage's storefront (stacks/Storefront.ts)
      allowOrigins: apiCorsOrigins(config),
      allowMethods: ["GET", "POST"],
      // A browser sends the buyer's token in Authorization, which a preflight must allow.
      allowHeaders: buyerJwt ? ["content-type", "authorization"] : ["content-type"],
      // the storefront says how long to wait after a 429, a 503 or a sale that has not started yet
      exposeHeaders: ["retry-after"],
      maxAge: "1 hour",
    },
    accessLog: { retention: config.logRetention, format: ACCESS_LOG_FORMAT },
    defaults: {
      throttle: { rate: config.api.throttleRate, burst: config.api.throttleBurst },
    },
    // API Gateway verifies the token (signature against the issuer's keys, iss, aud or client_id, exp, nbf, iat) and
    // answers 401 {"message":"Unauthorized"} itself; the functions get its claims in requestContext.authorizer.jwt.
    authorizers: buyerJwt ? { [BUYER_AUTHORIZER]: { type: "jwt" as const, jwt: { issuer: buyerJwt.issuer, audience: buyerJwt.audience } } } : {},
    routes: {
      ...Object.fromEntries(ROUTES.map((route) => [routeKey(route), routeProps(route)])),
      ...Object.fromEntries(NOT_ALLOWED_ROUTES.map((key) => [key, notAllowed])),
    },
  });

  function routeProps(route: Route) {
    const target = functions[route.handler];
    if (route.auth === "admin") return { function: target, authorizer: "iam" as const };
    if (route.auth === "buyer" && buyerJwt) return { function: target, authorizer: BUYER_AUTHORIZER };
    return target;
  }

  const open = openRoutes(buyerJwt !== undefined);
  for (const child of api.node.children) {
    const route = child.node.defaultChild as CfnRoute | undefined;
    if (route?.cfnResourceType !== "AWS::ApiGatewayV2::Route") continue;
    if (!open.includes(route.routeKey)) continue;
    NagSuppressions.addResourceSuppressions(route, [
      {
        id: "AwsSolutions-APIG4",
        reason: "A public storefront route by design (the item view for any shopper, health for uptime checks, the 405 answer for a wrong method; without buyer identity, POST /buy and GET /orders are called by the storefront's backend, which vouches for user_id). Limited by the stage's API throttling, and POST /buy by a per-buyer-and-item rate limit and idempotency keys. With auth.jwt the buyer routes need a verified JWT; the admin routes require IAM.",
      },
    ]);
  }

  stack.addOutputs({ ApiUrl: api.url });

  return { api, buy, order, health, admin };
}
