import { Api as SstApi, use, type StackContext, type Function as SstFunction } from "sst/constructs";
import * as iam from "aws-cdk-lib/aws-iam";
import { getStageConfig } from "./config.js";
import { createFunction } from "./functions.js";
import { Orders } from "./Orders.js";
import { ORDERS_TABLE } from "@flash/core/contract/resources";

export interface ApiOutputs {
  api: SstApi;
  buy: SstFunction;
  order: SstFunction;
  health: SstFunction;
  admin: SstFunction;
}

/**
 * The HTTP API (API Gateway v2). Public: POST /buy, GET /orders/{request_id}, GET /health.
 * IAM-signed (SigV4) only: /admin/items, PUT/GET /admin/items/{item_id}, POST .../reconcile, GET .../report.
 */
export function Api({ stack, app }: StackContext): ApiOutputs {
  const config = getStageConfig(app.stage);
  const { queue, dlq, table } = use(Orders);
  const fn = config.apiFunctions;

  const buy = createFunction(stack, "Buy", {
    handler: "packages/functions/src/buy.handler",
    description: "POST /buy: rate limit, idempotency, reserve stock in Valkey, enqueue order",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: fn.memoryMb,
    permissions: [new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [queue.queueArn] })],
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
      new iam.PolicyStatement({ actions: ["sqs:GetQueueAttributes"], resources: [queue.queueArn, dlq.queueArn] }),
      new iam.PolicyStatement({ actions: ["dynamodb:DescribeTable"], resources: [table.tableArn] }),
    ],
  });

  // The admin handler talks to Valkey, and reads orders by item (reconcile, sale report) from the index only.
  const admin = createFunction(stack, "Admin", {
    handler: "packages/functions/src/admin.handler",
    description: "/admin/items...: load and inspect stock, reconcile, sale report (IAM auth)",
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: 256,
    permissions: [new iam.PolicyStatement({ actions: ["dynamodb:Query"], resources: [`${table.tableArn}/index/${ORDERS_TABLE.byItem.name}`] })],
  });

  const api = new SstApi(stack, "Api", {
    cors: {
      allowOrigins: config.api.corsOrigins,
      allowMethods: ["GET", "POST"],
      allowHeaders: ["content-type"],
      maxAge: "1 hour",
    },
    accessLog: { retention: config.logRetention },
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

  stack.addOutputs({ ApiUrl: api.url });

  return { api, buy, order, health, admin };
}
