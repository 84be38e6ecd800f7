import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getStageConfig, productionConfig, stagingConfig, defaultConfig, validateStageConfig as validateForTest } from "../../stacks/config.js";
import { allStatements, asArray, flat, refersTo, ROOT, synth, type Synth, type Resource } from "./synth.js";

const HANDLERS = {
  buy: "packages/functions/src/buy.handler",
  order: "packages/functions/src/order.handler",
  health: "packages/functions/src/health.handler",
  admin: "packages/functions/src/admin.handler",
  processor: "packages/functions/src/processor.handler",
  sweeper: "packages/functions/src/sweeper.handler",
} as const;

const REQUIRED_ENV = [
  "STAGE",
  "REDIS_URL",
  "REDIS_CLUSTER",
  "QUEUE_URL",
  "DLQ_URL",
  "ORDERS_TABLE",
  "RATE_LIMIT_MAX_REQUESTS",
  "RATE_LIMIT_WINDOW_SECONDS",
  "IDEMPOTENCY_TTL_SECONDS",
  "PAYMENT_FAILURE_RATE",
  "RESERVATION_TTL_SECONDS",
  "MAX_RECEIVE_COUNT",
  "POWERTOOLS_SERVICE_NAME",
  "POWERTOOLS_METRICS_NAMESPACE",
];

const MAX_BUNDLE_BYTES = 2.5 * 1024 * 1024;

let staging: Synth;
let production: Synth;
let ephemeral: Synth; // a personal/PR stage in deploy mode

beforeAll(async () => {
  // One synth per stage, shared by every test below. Sequential: SST's use()/getStack()
  // and the project are process-global. `sst dev` mode is synthesized in dev-mode.test.ts (its own process).
  staging = await synth("staging");
  production = await synth("production");
  ephemeral = await synth("pr-42");
}, 180_000);

afterAll(() => {
  for (const s of [staging, production, ephemeral]) {
    if (s) fs.rmSync(s.outdir, { recursive: true, force: true });
  }
});

function fnByHandler(s: Synth, handler: string) {
  const found = s.functions().filter((f) => f.resource.Properties.Handler === handler);
  expect(found, `function with handler ${handler}`).toHaveLength(1);
  return found[0];
}

function one(s: Synth, type: string, predicate: (r: Resource) => boolean = () => true) {
  const found = s.resources(type).filter((r) => predicate(r.resource));
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0];
}


/** Allow statements attached to the role of a function. */
function roleStatements(s: Synth, fn: { stack: string; resource: Resource }) {
  const roleId = fn.resource.Properties.Role["Fn::GetAtt"][0];
  return s
    .resources("AWS::IAM::Policy")
    .filter((p) => p.stack === fn.stack && asArray(p.resource.Properties.Roles).some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.resource.Properties.PolicyDocument.Statement as any[]);
}

function actionsOf(statements: any[]): string[] {
  return [...new Set(statements.flatMap((st) => asArray<string>(st.Action)))].sort();
}

describe("stage config", () => {
  it("has production, staging and a default for every other stage", () => {
    expect(getStageConfig("production")).toBe(productionConfig);
    expect(getStageConfig("staging")).toBe(stagingConfig);
    expect(getStageConfig("dev")).toBe(defaultConfig);
    expect(getStageConfig("pr-42")).toBe(defaultConfig);
    expect(defaultConfig.queue.maxReceiveCount).toBe(3);
    expect(defaultConfig.alarms.dlqOldestMessageAgeSeconds).toBe(3600);
    expect(productionConfig.retainData && stagingConfig.retainData).toBe(true);
    expect(defaultConfig.retainData).toBe(false);
  });
});

describe("network (staging)", () => {
  it("has a VPC across 2 AZs with isolated subnets and no NAT/IGW", () => {
    const t = staging.stacks.Network.template;
    t.resourceCountIs("AWS::EC2::VPC", 1);
    const subnets = staging.resources("AWS::EC2::Subnet");
    expect(subnets).toHaveLength(2);
    const azs = new Set(subnets.map((s) => s.resource.Properties.AvailabilityZone));
    expect([...azs].sort()).toEqual(["us-east-1a", "us-east-1b"]);
    for (const s of subnets) expect(s.resource.Properties.MapPublicIpOnLaunch).toBe(false);
    t.resourceCountIs("AWS::EC2::NatGateway", 0);
    t.resourceCountIs("AWS::EC2::InternetGateway", 0);
  });

  it("has a DynamoDB gateway endpoint and an SQS interface endpoint with private DNS", () => {
    const t = staging.stacks.Network.template;
    t.hasResourceProperties("AWS::EC2::VPCEndpoint", { VpcEndpointType: "Gateway" });
    t.hasResourceProperties("AWS::EC2::VPCEndpoint", { VpcEndpointType: "Interface" });
    const endpoints = staging.resources("AWS::EC2::VPCEndpoint");
    expect(endpoints).toHaveLength(2);
    const gateway = endpoints.find((e) => e.resource.Properties.VpcEndpointType === "Gateway")!;
    expect(flat(gateway.resource.Properties.ServiceName)).toContain("dynamodb");
    expect(gateway.resource.Properties.RouteTableIds).toHaveLength(2);
    const iface = endpoints.find((e) => e.resource.Properties.VpcEndpointType === "Interface")!;
    expect(flat(iface.resource.Properties.ServiceName)).toContain("sqs");
    expect(iface.resource.Properties.PrivateDnsEnabled).toBe(true);
    expect(iface.resource.Properties.SubnetIds).toHaveLength(2);
  });

  it("lets only the Lambda security group reach the cache, only on 6379", () => {
    const net = staging.stacks.Network.json.Resources;
    const lambdaSg = Object.keys(net).find((k) => k.startsWith("LambdaSg") && net[k].Type === "AWS::EC2::SecurityGroup")!;
    const cacheSg = Object.keys(net).find((k) => k.startsWith("CacheSg") && net[k].Type === "AWS::EC2::SecurityGroup")!;
    expect(lambdaSg && cacheSg).toBeTruthy();
    // no inline ingress on the cache SG, exactly one ingress rule targeting it
    expect(net[cacheSg].Properties.SecurityGroupIngress ?? []).toEqual([]);
    const ingress = staging
      .resources("AWS::EC2::SecurityGroupIngress")
      .filter((r) => refersTo(r.resource.Properties.GroupId, cacheSg));
    expect(ingress).toHaveLength(1);
    expect(ingress[0].resource.Properties).toMatchObject({ IpProtocol: "tcp", FromPort: 6379, ToPort: 6379 });
    expect(ingress[0].resource.Properties.SourceSecurityGroupId).toEqual({ "Fn::GetAtt": [lambdaSg, "GroupId"] });
    expect(ingress[0].resource.Properties.CidrIp).toBeUndefined();
    // the cache uses the cache SG
    const cache = one(staging, "AWS::ElastiCache::ServerlessCache");
    expect(cache.resource.Properties.SecurityGroupIds).toHaveLength(1);
    expect(refersTo(cache.resource.Properties.SecurityGroupIds, cacheSg)).toBe(true);
  });

  it("puts every app Lambda in the isolated subnets with the Lambda SG", () => {
    const fns = staging.functions();
    expect(fns).toHaveLength(6);
    for (const f of fns) {
      const vpc = f.resource.Properties.VpcConfig;
      expect(vpc, f.id).toBeDefined();
      expect(vpc.SubnetIds).toHaveLength(2);
      expect(flat(vpc.SubnetIds)).toContain("isolatedSubnet");
      expect(vpc.SecurityGroupIds).toHaveLength(1);
      expect(flat(vpc.SecurityGroupIds)).toContain("LambdaSg");
    }
  });
});

describe("cache (staging)", () => {
  it("is ElastiCache Serverless Valkey with the stage's usage limits", () => {
    const cache = one(staging, "AWS::ElastiCache::ServerlessCache");
    expect(cache.resource.Properties).toMatchObject({
      Engine: "valkey",
      CacheUsageLimits: {
        DataStorage: { Maximum: stagingConfig.cache.maxDataStorageGb, Unit: "GB" },
        ECPUPerSecond: { Maximum: stagingConfig.cache.maxEcpuPerSecond },
      },
    });
    expect(cache.resource.Properties.SubnetIds).toHaveLength(2);
    const prod = one(production, "AWS::ElastiCache::ServerlessCache");
    expect(prod.resource.Properties.CacheUsageLimits.ECPUPerSecond.Maximum).toBe(productionConfig.cache.maxEcpuPerSecond);
  });

  it("gives every function REDIS_URL=rediss://<endpoint>:<port> and REDIS_CLUSTER=true", () => {
    for (const f of staging.functions()) {
      const env = f.resource.Properties.Environment.Variables;
      expect(env.REDIS_CLUSTER).toBe("true");
      const url = flat(env.REDIS_URL);
      expect(url).toContain('"rediss://"');
      expect(url).toMatch(/Endpoint\.?Address/);
      expect(url).toMatch(/Endpoint\.?Port/);
    }
  });
});

describe("orders queue and table", () => {
  it("redrives to the DLQ after maxReceiveCount receives; DLQ keeps 14 days", () => {
    const orders = staging.stacks.Orders.json.Resources;
    const queues = staging.resources("AWS::SQS::Queue");
    expect(queues).toHaveLength(2);
    const main = queues.find((q) => q.resource.Properties.RedrivePolicy)!;
    const dlq = queues.find((q) => !q.resource.Properties.RedrivePolicy)!;
    expect(main.resource.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [dlq.id, "Arn"] },
      maxReceiveCount: stagingConfig.queue.maxReceiveCount,
    });
    expect(stagingConfig.queue.maxReceiveCount).toBe(3);
    expect(dlq.resource.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(main.resource.Properties.QueueName).toBe("staging-flash-sale-orders");
    expect(Object.keys(orders)).toContain(main.id);
  });

  it("has a visibility timeout >= 6x the processor timeout", () => {
    for (const s of [staging, production, ephemeral]) {
      const main = s.resources("AWS::SQS::Queue").find((q) => q.resource.Properties.RedrivePolicy)!;
      const processor = fnByHandler(s, HANDLERS.processor);
      expect(main.resource.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * processor.resource.Properties.Timeout);
    }
  });

  it("has an on-demand table keyed by request_id with TTL expires_at and PITR on staging/production", () => {
    const table = one(staging, "AWS::DynamoDB::Table");
    expect(table.resource.Properties).toMatchObject({
      KeySchema: [{ AttributeName: "request_id", KeyType: "HASH" }],
      AttributeDefinitions: [
        { AttributeName: "request_id", AttributeType: "S" },
        { AttributeName: "item_id", AttributeType: "S" },
      ],
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: "expires_at", Enabled: true },
    });
    expect(table.resource.Properties.ProvisionedThroughput).toBeUndefined();
    expect(one(production, "AWS::DynamoDB::Table").resource.Properties.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
    expect(
      one(ephemeral, "AWS::DynamoDB::Table").resource.Properties.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled,
    ).not.toBe(true);
  });

  it("indexes orders by item (by_item: item_id, request_id) with only the attributes reconcile and the report read", () => {
    for (const s of [staging, production, ephemeral]) {
      const table = one(s, "AWS::DynamoDB::Table");
      expect(table.resource.Properties.GlobalSecondaryIndexes, s.stage).toEqual([
        {
          IndexName: "by_item",
          KeySchema: [
            { AttributeName: "item_id", KeyType: "HASH" },
            { AttributeName: "request_id", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: ["user_id", "amount", "status", "created_at", "updated_at"] },
        },
      ]);
    }
  });
});

describe("removal policies", () => {
  const dataTypes = ["AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::ElastiCache::ServerlessCache"];

  it("retains table, queues and cache on staging and production", () => {
    for (const s of [staging, production]) {
      const data = s.resources().filter((r) => dataTypes.includes(r.resource.Type));
      expect(data).toHaveLength(4);
      for (const r of data) {
        expect(r.resource.DeletionPolicy, `${s.stage} ${r.id}`).toBe("Retain");
        expect(r.resource.UpdateReplacePolicy, `${s.stage} ${r.id}`).toBe("Retain");
      }
    }
  });

  it("deletes everything on a non-production stage", () => {
    const data = ephemeral.resources().filter((r) => dataTypes.includes(r.resource.Type));
    expect(data).toHaveLength(4);
    for (const r of ephemeral.resources()) {
      expect(r.resource.DeletionPolicy ?? "Delete", r.id).toBe("Delete");
    }
    expect(one(ephemeral, "AWS::DynamoDB::Table").resource.Properties.DeletionProtectionEnabled).not.toBe(true);
  });
});

describe("HTTP API", () => {
  const routesOf = (s: Synth) =>
    Object.fromEntries(s.resources("AWS::ApiGatewayV2::Route").map((r) => [r.resource.Properties.RouteKey, r]));

  it("routes each path to its handler", () => {
    const routes = routesOf(staging);
    expect(Object.keys(routes).sort()).toEqual(
      [
        "GET /admin/items",
        "GET /admin/items/{item_id}",
        "GET /admin/items/{item_id}/report",
        "POST /admin/items/{item_id}/reconcile",
        "GET /health",
        "GET /orders/{request_id}",
        "POST /buy",
        "PUT /admin/items/{item_id}",
      ].sort(),
    );
    const expected: Record<string, string> = {
      "POST /buy": HANDLERS.buy,
      "GET /orders/{request_id}": HANDLERS.order,
      "GET /health": HANDLERS.health,
      "PUT /admin/items/{item_id}": HANDLERS.admin,
      "GET /admin/items/{item_id}": HANDLERS.admin,
      "GET /admin/items": HANDLERS.admin,
      "POST /admin/items/{item_id}/reconcile": HANDLERS.admin,
      "GET /admin/items/{item_id}/report": HANDLERS.admin,
    };
    const api = staging.stacks.Api.json.Resources;
    for (const [key, handler] of Object.entries(expected)) {
      const target: string = JSON.stringify(routes[key].resource.Properties.Target);
      const integrationId = Object.keys(api).find(
        (id) => api[id].Type === "AWS::ApiGatewayV2::Integration" && target.includes(id),
      )!;
      expect(integrationId, key).toBeDefined();
      const fnId = api[integrationId].Properties.IntegrationUri["Fn::GetAtt"][0];
      expect(api[fnId].Properties.Handler, key).toBe(handler);
    }
  });

  it("requires AWS_IAM on the admin routes and nothing on the public ones", () => {
    const routes = routesOf(staging);
    const admin = Object.keys(routes).filter((key) => key.includes(" /admin/"));
    expect(admin).toHaveLength(5);
    for (const key of admin) expect(routes[key].resource.Properties.AuthorizationType, key).toBe("AWS_IAM");
    for (const key of ["POST /buy", "GET /orders/{request_id}", "GET /health"]) {
      expect(routes[key].resource.Properties.AuthorizationType, key).toBe("NONE");
    }
  });

  it("limits CORS to the storefront origins", () => {
    const api = one(staging, "AWS::ApiGatewayV2::Api");
    expect(api.resource.Properties.ProtocolType).toBe("HTTP");
    expect(api.resource.Properties.CorsConfiguration.AllowOrigins).toEqual(stagingConfig.api.corsOrigins);
    expect(api.resource.Properties.CorsConfiguration.AllowOrigins).not.toContain("*");
    const prod = one(production, "AWS::ApiGatewayV2::Api");
    expect(prod.resource.Properties.CorsConfiguration.AllowOrigins).toEqual(productionConfig.api.corsOrigins);
  });

  it("writes access logs and throttles the default stage per stage", () => {
    for (const [s, c] of [
      [staging, stagingConfig],
      [production, productionConfig],
    ] as const) {
      const stage = one(s, "AWS::ApiGatewayV2::Stage");
      expect(stage.resource.Properties.StageName).toBe("$default");
      expect(stage.resource.Properties.AccessLogSettings.DestinationArn).toBeDefined();
      expect(stage.resource.Properties.AccessLogSettings.Format).toContain("$context.requestId");
      expect(stage.resource.Properties.DefaultRouteSettings).toMatchObject({
        ThrottlingRateLimit: c.api.throttleRate,
        ThrottlingBurstLimit: c.api.throttleBurst,
      });
    }
  });
});

describe("reservation sweeper", () => {
  it("runs on an EventBridge schedule at the stage's rate, with the stage's reservation TTL", () => {
    for (const [s, c] of [
      [staging, stagingConfig],
      [production, productionConfig],
    ] as const) {
      const sweeper = fnByHandler(s, HANDLERS.sweeper);
      const rule = one(s, "AWS::Events::Rule");
      expect(rule.resource.Properties.ScheduleExpression).toBe(`rate(${c.sweeper.rateMinutes} minute${c.sweeper.rateMinutes === 1 ? "" : "s"})`);
      expect(rule.resource.Properties.State ?? "ENABLED").toBe("ENABLED");
      expect(flat(rule.resource.Properties.Targets)).toContain(sweeper.id);
      expect(sweeper.resource.Properties.Environment.Variables.RESERVATION_TTL_SECONDS).toBe(String(c.sweeper.reservationTtlSeconds));
      // EventBridge may invoke it, nothing else
      const permission = s.resources("AWS::Lambda::Permission").find((p) => flat(p.resource.Properties.FunctionName).includes(sweeper.id));
      expect(permission?.resource.Properties.Principal).toBe("events.amazonaws.com");
    }
    expect(defaultConfig.sweeper.reservationTtlSeconds).toBe(900);
  });

  it("refuses a TTL the queue could still be retrying within", () => {
    const bad = { ...stagingConfig, sweeper: { rateMinutes: 1, reservationTtlSeconds: 300 } };
    expect(() => validateForTest("bad", bad)).toThrow(/reservationTtlSeconds must exceed/);
  });
});

describe("processor", () => {
  it("refuses batches larger than 10, the size the processor is built and tested for", () => {
    const bad = { ...stagingConfig, processor: { ...stagingConfig.processor, batchSize: 25 } };
    expect(() => validateForTest("bad", bad)).toThrow(/batchSize must be 1..10/);
  });

  it("consumes the queue with batch size, window, partial batch responses and max concurrency", () => {
    for (const [s, c] of [
      [staging, stagingConfig],
      [production, productionConfig],
      [ephemeral, defaultConfig],
    ] as const) {
      const esm = one(s, "AWS::Lambda::EventSourceMapping");
      const processor = fnByHandler(s, HANDLERS.processor);
      expect(esm.resource.Properties).toMatchObject({
        BatchSize: c.processor.batchSize,
        MaximumBatchingWindowInSeconds: c.processor.maxBatchingWindowSeconds,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: c.processor.maxConcurrency },
      });
      expect(esm.resource.Properties.FunctionName).toEqual({ Ref: processor.id });
      expect(flat(esm.resource.Properties.EventSourceArn)).toContain("OrdersQueue");
      expect(processor.resource.Properties.Timeout).toBe(c.processor.timeoutSeconds);
    }
  });

  it("uses no reserved concurrency anywhere", () => {
    for (const s of [staging, production, ephemeral]) {
      for (const f of s.resources("AWS::Lambda::Function")) {
        expect(f.resource.Properties.ReservedConcurrentExecutions, f.id).toBeUndefined();
      }
    }
  });
});

describe("monitoring", () => {
  const alarms = (s: Synth) => s.resources("AWS::CloudWatch::Alarm").map((a) => a.resource.Properties);
  const topicId = (s: Synth) => one(s, "AWS::SNS::Topic").id;

  it("alarms on DLQ depth and DLQ age", () => {
    const all = alarms(staging);
    const depth = all.find((a) => a.MetricName === "ApproximateNumberOfMessagesVisible" && flat(a.Dimensions).includes("OrdersDlq"));
    expect(depth).toMatchObject({ Namespace: "AWS/SQS", Threshold: 0, ComparisonOperator: "GreaterThanThreshold" });
    const age = all.find((a) => a.MetricName === "ApproximateAgeOfOldestMessage" && flat(a.Dimensions).includes("OrdersDlq"));
    expect(age).toMatchObject({
      Namespace: "AWS/SQS",
      Threshold: stagingConfig.alarms.dlqOldestMessageAgeSeconds,
      ComparisonOperator: "GreaterThanThreshold",
    });
    expect(stagingConfig.alarms.dlqOldestMessageAgeSeconds).toBe(3600);
  });

  it("alarms on processor errors and throttles", () => {
    const processorId = fnByHandler(staging, HANDLERS.processor).id;
    for (const metric of ["Errors", "Throttles"]) {
      const a = alarms(staging).find((x) => x.MetricName === metric);
      expect(a, metric).toMatchObject({ Namespace: "AWS/Lambda", ComparisonOperator: "GreaterThanThreshold" });
      expect(flat(a!.Dimensions)).toContain(processorId);
    }
  });

  it("alarms on HTTP API 5xx for the $default stage", () => {
    const a = alarms(staging).find((x) => x.MetricName === "5xx");
    expect(a).toMatchObject({
      Namespace: "AWS/ApiGateway",
      Statistic: "Sum",
      Threshold: stagingConfig.alarms.api5xx,
    });
    const dims = Object.fromEntries(a!.Dimensions.map((d: any) => [d.Name, d.Value]));
    expect(dims.Stage).toBe("$default");
    expect(flat(dims.ApiId)).toContain("Api");
  });

  it("alarms on buy p99 latency", () => {
    const buyId = fnByHandler(staging, HANDLERS.buy).id;
    const a = alarms(staging).find((x) => x.MetricName === "Duration");
    expect(a).toMatchObject({ Namespace: "AWS/Lambda", ExtendedStatistic: "p99", Threshold: stagingConfig.alarms.buyP99LatencyMs });
    expect(flat(a!.Dimensions)).toContain(buyId);
  });

  it("alarms on the failure rate with metric math over the processor's EMF counts", () => {
    const a = alarms(staging).find((x) => x.AlarmName && flat(x.AlarmName).includes("FailureRate"));
    expect(a).toMatchObject({ Threshold: stagingConfig.alarms.failureRatePercent, ComparisonOperator: "GreaterThanThreshold" });
    expect(stagingConfig.alarms.failureRatePercent).toBe(10);
    const expression = a!.Metrics.find((m: any) => m.Expression);
    expect(expression.Expression).toBe("IF(processed > 0, 100 * failed / processed, 0)");
    const used = Object.fromEntries(a!.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat.Metric]));
    expect(used.failed).toMatchObject({ Namespace: "FlashSale", MetricName: "OrdersFailed" });
    expect(used.processed).toMatchObject({ Namespace: "FlashSale", MetricName: "OrdersProcessed" });
    expect(used.processed.Dimensions).toEqual([
      { Name: "service", Value: "flash-sale" },
      { Name: "stage", Value: "staging" },
    ]);
  });

  it("alarms on processing p99 above 5 s and on low inventory, thresholds from the stage config", () => {
    const p99 = alarms(staging).find((x) => x.MetricName === "ProcessingDuration");
    expect(p99).toMatchObject({ Namespace: "FlashSale", ExtendedStatistic: "p99", Threshold: 5000, ComparisonOperator: "GreaterThanThreshold" });
    for (const [s, c] of [
      [staging, stagingConfig],
      [production, productionConfig],
    ] as const) {
      const low = alarms(s).find((x) => x.MetricName === "InventoryRemaining");
      expect(low).toMatchObject({
        Namespace: "FlashSale",
        Statistic: "Minimum",
        Threshold: c.alarms.inventoryLowUnits,
        ComparisonOperator: "LessThanThreshold",
      });
      // the item-less series: alarms cannot SEARCH across the per-item ones
      expect(low!.Dimensions.map((d: any) => d.Name).sort()).toEqual(["service", "stage"]);
    }
    expect(productionConfig.alarms.inventoryLowUnits).not.toBe(stagingConfig.alarms.inventoryLowUnits);
  });

  it("sends every alarm to the SNS topic, which emails the stage's addresses", () => {
    const all = alarms(staging);
    expect(all).toHaveLength(9);
    for (const a of all) {
      expect(flat(a.AlarmActions), a.AlarmName).toContain(topicId(staging));
      expect(a.TreatMissingData).toBe("notBreaching");
    }
    staging.stacks.Monitoring.template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: stagingConfig.alarms.emails[0],
    });
    production.stacks.Monitoring.template.resourceCountIs("AWS::SNS::Subscription", productionConfig.alarms.emails.length);
  });

  it("has a dashboard with the app's EMF metrics, queue/DLQ depth and age, and processor health", () => {
    const dash = one(staging, "AWS::CloudWatch::Dashboard");
    expect(dash.resource.Properties.DashboardName).toBe("staging-flash-sale-dashboard");
    const body = flat(dash.resource.Properties.DashboardBody);
    for (const name of [
      "OrdersReceived", "OrdersAccepted", "OrdersRejected", "EnqueueFailed", "OrdersCompleted", "OrdersFailed", "BuyDuration",
      "RejectedValidation", "RejectedDuplicate", "RejectedRateLimited", "RejectedPurchaseLimit", "RejectedSoldOut",
      "OrdersProcessed", "FailedSoldOut", "FailedPayment", "OrdersDeadLettered", "OrdersExpired", "ProcessingDuration",
    ]) {
      // Powertools publishes {service, stage}; the dashboard must query that exact set
      expect(body, name).toContain(
        `\\"FlashSale\\",\\"${name}\\",\\"service\\",\\"flash-sale\\",\\"stage\\",\\"staging\\"`,
      );
    }
    for (const name of [
      "ApproximateNumberOfMessagesVisible",
      "ApproximateAgeOfOldestMessage",
      "ConcurrentExecutions",
      "Errors",
      "Throttles",
      "5xx",
    ]) {
      expect(body, name).toContain(name);
    }
    expect(body).toContain("OrdersDlq");
    expect(body).toContain("OrdersQueue");
    // latency p50/p99, and inventory per item through a SEARCH over the item dimension
    expect(body).toContain(`\\"stat\\":\\"p50\\"`);
    expect(body).toContain(`\\"stat\\":\\"p99\\"`);
    expect(body).toContain("SEARCH('{FlashSale,item,service,stage} MetricName=");
    expect(body).toMatch(/MetricName=\W+InventoryRemaining\W+ stage=\W+staging\W+', 'Minimum', 60\)/);
    for (const title of ["Buy latency", "Orders queue depth", "DLQ depth", "Processor invocations / concurrency", "Processor errors / throttles", "Inventory remaining per item", "Rejections by reason"]) {
      expect(body, title).toContain(title);
    }
  });
});

describe("functions", () => {
  it("run nodejs22.x on arm64 with the full environment", () => {
    const fns = staging.functions();
    expect(fns.map((f) => f.resource.Properties.Handler).sort()).toEqual(Object.values(HANDLERS).sort());
    for (const f of fns) {
      expect(f.resource.Properties.Runtime, f.id).toBe("nodejs22.x");
      expect(f.resource.Properties.Architectures, f.id).toEqual(["arm64"]);
      const env = f.resource.Properties.Environment.Variables;
      for (const key of REQUIRED_ENV) expect(env[key], `${f.id} ${key}`).toBeDefined();
      expect(env.STAGE).toBe("staging");
      expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe("FlashSale");
      expect(env.POWERTOOLS_SERVICE_NAME).toBe("flash-sale");
      expect(env.RATE_LIMIT_MAX_REQUESTS).toBe(String(stagingConfig.app.rateLimitMaxRequests));
      expect(env.PAYMENT_FAILURE_RATE).toBe(String(stagingConfig.app.paymentFailureRate));
      expect(flat(env.QUEUE_URL)).toContain("OrdersQueue");
      expect(flat(env.DLQ_URL)).toContain("OrdersDlq");
      expect(flat(env.ORDERS_TABLE)).toContain("OrdersTable");
      // X-Ray off: it would need xray:* on "*"
      expect(f.resource.Properties.TracingConfig?.Mode ?? "PassThrough").toBe("PassThrough");
    }
  });

  it("ship the Lua scripts in every bundle", () => {
    const lua = fs.readdirSync(path.join(ROOT, "lua")).filter((f) => f.endsWith(".lua")).sort();
    expect(lua.length).toBeGreaterThan(0);
    for (const f of staging.functions()) {
      const dir = path.join(staging.assetDir(f.resource), "lua");
      expect(fs.existsSync(dir), f.id).toBe(true);
      expect(fs.readdirSync(dir).filter((x) => x.endsWith(".lua")).sort(), f.id).toEqual(lua);
    }
  });

  it("are ESM bundles that leave the AWS SDK v3 out", () => {
    for (const f of staging.functions()) {
      const handler: string = f.resource.Properties.Handler;
      const bundle = path.join(staging.assetDir(f.resource), handler.replace(/\.[^.]+$/, ".mjs"));
      expect(fs.existsSync(bundle), bundle).toBe(true);
      const bytes = fs.statSync(bundle).size;
      expect(bytes, `${handler} bundle size`).toBeLessThan(MAX_BUNDLE_BYTES);
      const code = fs.readFileSync(bundle, "utf8");
      // the SDK's user-agent marker is in every bundled SDK client
      expect(code.includes("aws-sdk-js"), `${handler} bundles the AWS SDK`).toBe(false);
      expect(code).not.toMatch(/node_modules\/@aws-sdk\//);
      // any @aws-sdk mention must be an import specifier (external)
      const mentions = code.match(/["'`]@aws-sdk\/[^"'`]+["'`]/g) ?? [];
      const imports = code.match(/(?:from\s*|import\s*\(\s*|import\s*)["']@aws-sdk\/[^"']+["']/g) ?? [];
      expect(imports.length, handler).toBe(mentions.length);
      expect(code).toMatch(/^import|\bexport\b/m);
    }
  });
});

describe("least-privilege IAM", () => {
  it("has no wildcard action in any policy statement of any stack (IAM and resource policies)", () => {
    for (const s of [staging, production, ephemeral]) {
      const statements = allStatements(s);
      const types = new Set(statements.map((x) => x.type));
      for (const t of ["AWS::IAM::Policy", "AWS::IAM::Role", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"]) {
        expect(types, `${s.stage} has ${t} statements`).toContain(t);
      }
      for (const { stack, id, statement } of statements) {
        for (const action of asArray<string>(statement.Action)) {
          expect(action.includes("*"), `${s.stage} ${stack}/${id}: ${action}`).toBe(false);
        }
        expect(statement.NotAction, `${stack}/${id}`).toBeUndefined();
      }
    }
  });

  it("denies non-TLS access to both queues", () => {
    const policies = staging.resources("AWS::SQS::QueuePolicy");
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      const deny = p.resource.Properties.PolicyDocument.Statement.find((st: any) => st.Effect === "Deny");
      expect(deny.Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });
      expect(asArray(deny.Action)).toContain("sqs:SendMessage");
      expect(asArray(deny.Action)).toContain("sqs:ReceiveMessage");
    }
  });

  it("never grants an app function anything on Resource '*'", () => {
    for (const f of staging.functions()) {
      for (const st of roleStatements(staging, f)) {
        expect(asArray(st.Resource), `${f.id} ${flat(st.Action)}`).not.toContain("*");
        expect(st.Effect).toBe("Allow");
      }
    }
  });

  it("grants each function exactly what it needs", () => {
    const grants = (handler: string) => {
      const f = fnByHandler(staging, handler);
      return roleStatements(staging, f);
    };
    const buy = grants(HANDLERS.buy);
    expect(actionsOf(buy)).toEqual(["sqs:SendMessage"]);
    expect(flat(buy[0].Resource)).toContain("OrdersQueue");

    const order = grants(HANDLERS.order);
    expect(actionsOf(order)).toEqual(["dynamodb:GetItem"]);
    expect(flat(order[0].Resource)).toContain("OrdersTable");

    const health = grants(HANDLERS.health);
    expect(actionsOf(health)).toEqual(["dynamodb:DescribeTable", "sqs:GetQueueAttributes"]);

    const admin = grants(HANDLERS.admin);
    expect(actionsOf(admin)).toEqual(["dynamodb:Query"]);
    expect(admin).toHaveLength(1);
    // the index only, not the table
    expect(flat(admin[0].Resource)).toContain("/index/by_item");

    const sweeper = grants(HANDLERS.sweeper);
    expect(actionsOf(sweeper)).toEqual(["dynamodb:UpdateItem"]);
    expect(flat(sweeper[0].Resource)).toContain("OrdersTable");
    expect(flat(sweeper[0].Resource)).not.toContain("/index/");

    const processor = grants(HANDLERS.processor);
    expect(actionsOf(processor)).toEqual(
      [
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
      ].sort(),
    );
    const send = processor.find((st) => asArray(st.Action).includes("sqs:SendMessage"));
    expect(asArray(send.Action)).toEqual(["sqs:SendMessage"]);
    expect(flat(send.Resource)).toContain("OrdersDlq");
    expect(flat(send.Resource)).not.toContain("OrdersQueue");
    const receive = processor.find((st) => asArray(st.Action).includes("sqs:ReceiveMessage"));
    expect(flat(receive.Resource)).toContain("OrdersQueue");
    const ddb = processor.find((st) => asArray(st.Action).includes("dynamodb:UpdateItem"));
    expect(flat(ddb.Resource)).toContain("OrdersTable");
  });

  it("uses only AWS managed policies Lambda needs (basic execution, VPC access)", () => {
    const managed = new Set(
      staging
        .functions()
        .flatMap((f) => {
          const roleId = f.resource.Properties.Role["Fn::GetAtt"][0];
          return staging.stacks[f.stack].json.Resources[roleId].Properties.ManagedPolicyArns ?? [];
        })
        .map((arn: unknown) => flat(arn).match(/service-role\/([A-Za-z]+)/)?.[1]),
    );
    expect([...managed].sort()).toEqual(["AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"]);
  });
});

describe("outputs", () => {
  it("exports ApiUrl, QueueUrl, DlqUrl, OrdersTable, DashboardUrl, AlarmTopicArn", () => {
    const outputs = Object.values(staging.stacks).flatMap((s) => Object.keys(s.json.Outputs ?? {}));
    for (const name of ["ApiUrl", "QueueUrl", "DlqUrl", "OrdersTable", "DashboardUrl", "AlarmTopicArn"]) {
      expect(outputs, name).toContain(name);
    }
    const dashboardUrl = staging.stacks.Monitoring.json.Outputs!.DashboardUrl.Value;
    expect(flat(dashboardUrl)).toContain("#dashboards/dashboard/staging-flash-sale-dashboard");
  });
});
