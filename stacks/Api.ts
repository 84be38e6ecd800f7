import { Api as SstApi, use, type StackContext, type Function as SstFunction } from "sst/constructs";
import * as iam from "aws-cdk-lib/aws-iam";
import type { CfnRoute } from "aws-cdk-lib/aws-apigatewayv2";
import { NagSuppressions } from "cdk-nag";
import { getStageConfig } from "./config.js";
import { createFunction } from "./functions.js";
import { Orders } from "./Orders.js";
import { BY_ITEM_INDEX } from "../packages/core/src/adapters/dynamo.js";

export interface ApiOutputs {
  api: SstApi;
  buy: SstFunction;
  order: SstFunction;
  health: SstFunction;
  admin: SstFunction;
}

/** The routes anyone may call (the storefront's); every other route requires IAM (SigV4). */
export const PUBLIC_ROUTES = ["POST /buy", "GET /orders/{request_id}", "GET /health"] as const;

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
 * The HTTP API (API Gateway v2). Public: POST /buy, GET /orders/{request_id}, GET /health.
 * IAM-signed (SigV4) only: /admin/items, PUT/GET /admin/items/{item_id}, POST .../reconcile, GET .../report.
 */
export function Api({ stack, app }: StackContext): ApiOutputs {
  const config = getStageConfig(app.stage);
  const { queue, table } = use(Orders);
  const fn = config.apiFunctions;

  const buy = createFunction(stack, "Buy", {
    handler: "packages/functions/src/buy.handler",
    description: "POST /buy: rate limit, idempotency, reserve stock in Valkey, enqueue order",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: fn.memoryMb,
    permissions: [
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [queue.queueArn] }),
      // A duplicate request_id answers with the stored order's status.
      new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: [table.tableArn] }),
    ],
  });

  const order = createFunction(stack, "Order", {
    handler: "packages/functions/src/order.handler",
    description: "GET /orders/{request_id}",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: fn.memoryMb,
    permissions: [new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: [table.tableArn] })],
  });

  const health = createFunction(stack, "Health", {
    handler: "packages/functions/src/health.handler",
    description: "GET /health: Valkey ping, queue and table reachability",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: 256,
    permissions: [
      // The orders queue only: the health check reads one attribute of it.
      new iam.PolicyStatement({ actions: ["sqs:GetQueueAttributes"], resources: [queue.queueArn] }),
      new iam.PolicyStatement({ actions: ["dynamodb:DescribeTable"], resources: [table.tableArn] }),
    ],
  });

  // The admin handler talks to Valkey, and reads orders by item (reconcile, sale report) from the index only.
  const admin = createFunction(stack, "Admin", {
    handler: "packages/functions/src/admin.handler",
    description: "/admin/items...: load and inspect stock, reconcile, sale report (IAM auth)",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: 256,
    permissions: [new iam.PolicyStatement({ actions: ["dynamodb:Query"], resources: [`${table.tableArn}/index/${BY_ITEM_INDEX}`] })],
  });
  NagSuppressions.addResourceSuppressions([buy, order, health, admin], [SYNCHRONOUS_NO_DLQ]);

  const api = new SstApi(stack, "Api", {
    cors: {
      allowOrigins: config.api.corsOrigins,
      allowMethods: ["GET", "POST"],
      allowHeaders: ["content-type"],
      maxAge: "1 hour",
    },
    accessLog: { retention: config.logRetention, format: ACCESS_LOG_FORMAT },
    defaults: {
      throttle: { rate: config.api.throttleRate, burst: config.api.throttleBurst },
    },
    routes: {
      "POST /buy": buy,
      "GET /orders/{request_id}": order,
      "GET /health": health,
      "PUT /admin/items/{item_id}": { function: admin, authorizer: "iam" },
      "GET /admin/items/{item_id}": { function: admin, authorizer: "iam" },
      "GET /admin/items": { function: admin, authorizer: "iam" },
      "POST /admin/items/{item_id}/reconcile": { function: admin, authorizer: "iam" },
      "GET /admin/items/{item_id}/report": { function: admin, authorizer: "iam" },
    },
  });

  for (const child of api.node.children) {
    const route = child.node.defaultChild as CfnRoute | undefined;
    if (route?.cfnResourceType !== "AWS::ApiGatewayV2::Route") continue;
    if (!(PUBLIC_ROUTES as readonly string[]).includes(route.routeKey)) continue;
    NagSuppressions.addResourceSuppressions(route, [
      {
        id: "AwsSolutions-APIG4",
        reason: "A public storefront route by design (anonymous shoppers buy and poll their order; health for uptime checks). Limited by the stage's API throttling, and POST /buy by a per-user rate limit and idempotency keys. The admin routes require IAM.",
      },
    ]);
  }

  stack.addOutputs({ ApiUrl: api.url });

  return { api, buy, order, health, admin };
}
