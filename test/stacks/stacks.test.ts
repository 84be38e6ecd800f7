import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { App as CdkApp, Aspects, Stack as CdkStack } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import {
  AWS_DEFAULT_QUOTAS,
  apiCorsOrigins,
  getStageConfig,
  productionConfig,
  stagingConfig,
  defaultConfig,
  queueAgeAlarmSeconds,
  resolveAlarmEmails,
  validateStageConfig as validateForTest,
  type StageConfig,
} from "../../stacks/config.js";
import { ACCESS_LOG_FORMAT } from "../../stacks/Api.js";
import { ENI_ACTIONS_DENIED_TO_CODE } from "../../stacks/functions.js";
import { STOREFRONT_PATH } from "../../stacks/Storefront.js";
import { allStatements, asArray, flat, nagFindings, refersTo, ROOT, synth, type Synth, type Resource } from "./synth.js";
import { importAsOnLambda } from "../../bench/lambda-import.js";

const HANDLERS = {
  buy: "packages/functions/src/http/buy.handler",
  order: "packages/functions/src/http/order.handler",
  health: "packages/functions/src/http/health.handler",
  admin: "packages/functions/src/http/admin.handler",
  item: "packages/functions/src/http/item.handler",
  notAllowed: "packages/functions/src/http/not-allowed.handler",
  processor: "packages/functions/src/queue/processor.handler",
  sweeper: "packages/functions/src/schedule/sweeper.handler",
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
  "ADMISSION_TAKEOVER_MS",
  "POWERTOOLS_SERVICE_NAME",
  "POWERTOOLS_METRICS_NAMESPACE",
];

const MAX_BUNDLE_BYTES = 2.5 * 1024 * 1024;

/** Alarm subscribers given to the production synth through ALARM_EMAILS, as at deploy time. */
const PRODUCTION_ALARM_EMAILS = ["oncall@ops.flashsale.dev", "sre-pager@ops.flashsale.dev"];

const ALL_CONFIGS = [
  ["production", productionConfig],
  ["staging", stagingConfig],
  ["default", defaultConfig],
] as const;

let staging: Synth;
let production: Synth;
let ephemeral: Synth; // a personal/PR stage in deploy mode

beforeAll(async () => {
  // One synth per stage, shared by every test below. Sequential: SST's use()/getStack()
  // and the project are process-global. `sst dev` mode is synthesized in dev-mode.test.ts (its own process).
  // staging and production with cdk-nag (AwsSolutionsChecks, ServerlessChecks) applied, see "cdk-nag" below.
  staging = await synth("staging", "deploy", { ALARM_EMAILS: undefined }, { nag: true });
  production = await synth("production", "deploy", { ALARM_EMAILS: PRODUCTION_ALARM_EMAILS.join(", ") }, { nag: true });
  ephemeral = await synth("pr-42", "deploy", { ALARM_EMAILS: undefined });
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


/** Every statement of every IAM policy attached to the role of a function (Allow and Deny). */
function roleStatements(s: Synth, fn: { stack: string; resource: Resource }) {
  const roleId = fn.resource.Properties.Role["Fn::GetAtt"][0];
  return s
    .resources("AWS::IAM::Policy")
    .filter((p) => p.stack === fn.stack && asArray(p.resource.Properties.Roles).some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.resource.Properties.PolicyDocument.Statement as any[]);
}

/** The Allow statements attached to the role of a function. */
function roleGrants(s: Synth, fn: { stack: string; resource: Resource }) {
  return roleStatements(s, fn).filter((st) => st.Effect === "Allow");
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
    expect(defaultConfig.queue.maxReceiveCount).toBe(5);
    expect(defaultConfig.alarms.dlqOldestMessageAgeSeconds).toBe(3600);
    expect(productionConfig.retainData && stagingConfig.retainData).toBe(true);
    expect(defaultConfig.retainData).toBe(false);
  });
});

describe("queue transport", () => {
  it("keeps staging, production and other stages on SQS: no Kafka stack, no MSK cluster (MSK stages: msk.test.ts)", () => {
    for (const s of [staging, production, ephemeral]) {
      expect(Object.keys(s.stacks), s.stage).not.toContain("Kafka");
      expect(s.resources("AWS::MSK::ServerlessCluster"), s.stage).toHaveLength(0);
      for (const f of s.functions()) expect(f.resource.Properties.Environment.Variables.QUEUE_TRANSPORT ?? "sqs", f.id).toBe("sqs");
    }
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
    expect(fns).toHaveLength(8);
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

describe("VPC flow logs", () => {
  it("are on for production: all traffic of the VPC to a log group with the stage's retention", () => {
    const flowLog = one(production, "AWS::EC2::FlowLog");
    const net = production.stacks.Network.json.Resources;
    const vpcId = Object.keys(net).find((k) => net[k].Type === "AWS::EC2::VPC")!;
    expect(flowLog.resource.Properties).toMatchObject({
      ResourceType: "VPC",
      ResourceId: { Ref: vpcId },
      TrafficType: "ALL",
      LogDestinationType: "cloud-watch-logs",
    });
    const groupId = flowLog.resource.Properties.LogGroupName.Ref;
    expect(net[groupId].Type).toBe("AWS::Logs::LogGroup");
    expect(productionConfig.logRetention).toBe("one_month");
    expect(net[groupId].Properties.RetentionInDays).toBe(30);
    expect(net[groupId].DeletionPolicy).toBe("Retain");
    // delivered by a role only the flow-logs service can assume, writing to that log group only
    const roleId = flowLog.resource.Properties.DeliverLogsPermissionArn["Fn::GetAtt"][0];
    expect(flat(net[roleId].Properties.AssumeRolePolicyDocument)).toContain("vpc-flow-logs.amazonaws.com");
    const grants = production
      .resources("AWS::IAM::Policy")
      .filter((p) => p.stack === "Network" && flat(p.resource.Properties.Roles).includes(roleId))
      .flatMap((p) => p.resource.Properties.PolicyDocument.Statement);
    expect(grants.length).toBeGreaterThan(0);
    for (const st of grants) expect(st.Resource).toEqual({ "Fn::GetAtt": [groupId, "Arn"] });
  });

  it("are off on the other stages (vpcFlowLogs)", () => {
    expect(productionConfig.vpcFlowLogs).toBe(true);
    expect(stagingConfig.vpcFlowLogs).toBe(false);
    expect(staging.resources("AWS::EC2::FlowLog")).toHaveLength(0);
    expect(ephemeral.resources("AWS::EC2::FlowLog")).toHaveLength(0);
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

  it("lets clients in only as its IAM-mode user: a user group on the cache, the user and cache name in every function", () => {
    const user = one(staging, "AWS::ElastiCache::User");
    expect(user.resource.Properties).toMatchObject({ Engine: "valkey", AuthenticationMode: { Type: "iam" } });
    expect(user.resource.Properties.UserId).toBe(user.resource.Properties.UserName); // IAM mode requires it
    const group = one(staging, "AWS::ElastiCache::UserGroup");
    expect(group.resource.Properties).toMatchObject({ Engine: "valkey", UserIds: [user.resource.Properties.UserId] });
    const cache = one(staging, "AWS::ElastiCache::ServerlessCache");
    expect(cache.resource.Properties.UserGroupId).toBe(group.resource.Properties.UserGroupId);
    for (const f of staging.functions()) {
      const env = f.resource.Properties.Environment.Variables;
      expect(env.REDIS_IAM_USER).toBe(user.resource.Properties.UserId);
      expect(env.REDIS_CACHE_NAME).toBe(cache.resource.Properties.ServerlessCacheName);
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
    expect(stagingConfig.queue.maxReceiveCount).toBeGreaterThanOrEqual(5);
    expect(production.resources("AWS::SQS::Queue").find((q) => q.resource.Properties.RedrivePolicy)!.resource.Properties.RedrivePolicy.maxReceiveCount)
      .toBe(productionConfig.queue.maxReceiveCount);
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
        "GET /items/{item_id}",
        "GET /orders/{request_id}",
        "POST /buy",
        "PUT /admin/items/{item_id}",
        // a wrong method on a storefront path: 405 with Allow
        "ANY /buy",
        "ANY /orders/{request_id}",
        "ANY /items/{item_id}",
        "ANY /health",
      ].sort(),
    );
    const expected: Record<string, string> = {
      "POST /buy": HANDLERS.buy,
      "GET /orders/{request_id}": HANDLERS.order,
      "GET /health": HANDLERS.health,
      "GET /items/{item_id}": HANDLERS.item,
      "ANY /buy": HANDLERS.notAllowed,
      "ANY /health": HANDLERS.notAllowed,
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
    for (const key of ["POST /buy", "GET /orders/{request_id}", "GET /items/{item_id}", "GET /health", "ANY /buy", "ANY /orders/{request_id}"]) {
      expect(routes[key].resource.Properties.AuthorizationType, key).toBe("NONE");
    }
  });

  it("has no JWT authorizer on any route when the stage configures no buyer identity (test/stacks/buyer-identity.test.ts: with one)", () => {
    for (const s of [staging, production, ephemeral]) {
      expect(s.resources("AWS::ApiGatewayV2::Authorizer"), s.stage).toHaveLength(0);
      for (const r of s.resources("AWS::ApiGatewayV2::Route")) expect(r.resource.Properties.AuthorizationType, r.resource.Properties.RouteKey).not.toBe("JWT");
      for (const f of s.functions()) expect(f.resource.Properties.Environment.Variables.AUTH_USER_CLAIM, `${s.stage} ${f.id}`).toBeUndefined();
    }
  });

  it("limits CORS to the storefront origins and shows Retry-After (Authorization only with buyer identity: buyer-identity.test.ts)", () => {
    const api = one(staging, "AWS::ApiGatewayV2::Api");
    expect(api.resource.Properties.ProtocolType).toBe("HTTP");
    const cors = api.resource.Properties.CorsConfiguration;
    expect(cors.AllowOrigins).toEqual(apiCorsOrigins(stagingConfig));
    expect(cors.AllowOrigins).not.toContain("*");
    expect(cors.AllowMethods.sort()).toEqual(["GET", "POST"]);
    expect(cors.AllowHeaders.sort()).toEqual(["content-type"]);
    expect(cors.ExposeHeaders).toEqual(["retry-after"]);
    const prod = one(production, "AWS::ApiGatewayV2::Api");
    expect(prod.resource.Properties.CorsConfiguration.AllowOrigins).toEqual(apiCorsOrigins(productionConfig));
  });

  it("allows the storefront's origins from the stage config: its custom domain by itself, the others once listed", () => {
    expect(apiCorsOrigins(stagingConfig)).toEqual(stagingConfig.api.corsOrigins); // no domain, no origin listed yet
    const withSite: StageConfig = {
      ...stagingConfig,
      storefront: { ...stagingConfig.storefront, domain: "staging.shop.flashsale.dev", allowedOrigins: ["https://d111111abcdef8.cloudfront.net"] },
    };
    expect(apiCorsOrigins(withSite)).toEqual([
      ...stagingConfig.api.corsOrigins,
      "https://staging.shop.flashsale.dev",
      "https://d111111abcdef8.cloudfront.net",
    ]);
    // each origin once; a stage without a storefront adds nothing for its domain
    const twice = { ...withSite, storefront: { ...withSite.storefront, allowedOrigins: [...stagingConfig.api.corsOrigins] } };
    expect(apiCorsOrigins(twice)).toEqual([...stagingConfig.api.corsOrigins, "https://staging.shop.flashsale.dev"]);
    expect(apiCorsOrigins({ ...withSite, storefront: { ...withSite.storefront, enabled: false } })).not.toContain("https://staging.shop.flashsale.dev");
    // what a browser sends as Origin: no path, no trailing slash (the StorefrontUrl output has none)
    const slash = { ...stagingConfig, storefront: { ...stagingConfig.storefront, allowedOrigins: ["https://d111111abcdef8.cloudfront.net/"] } };
    expect(() => validateForTest("staging", slash)).toThrow(/CORS origin "https:\/\/d111111abcdef8.cloudfront.net\/" must be scheme:\/\/host\[:port\]/);
    const url = { ...stagingConfig, storefront: { ...stagingConfig.storefront, domain: "https://shop.flashsale.dev" } };
    expect(() => validateForTest("staging", url)).toThrow(/storefront.domain .* must be a host name/);
  });

  it("writes access logs and throttles the default stage per stage", () => {
    for (const [s, c] of [
      [staging, stagingConfig],
      [production, productionConfig],
    ] as const) {
      const stage = one(s, "AWS::ApiGatewayV2::Stage");
      expect(stage.resource.Properties.StageName).toBe("$default");
      expect(stage.resource.Properties.AccessLogSettings.DestinationArn).toBeDefined();
      expect(stage.resource.Properties.AccessLogSettings.Format).toBe(ACCESS_LOG_FORMAT);
      expect(stage.resource.Properties.DefaultRouteSettings).toMatchObject({
        ThrottlingRateLimit: c.api.throttleRate,
        ThrottlingBurstLimit: c.api.throttleBurst,
      });
    }
  });

  it("logs who made each call and why it failed, in a format that parses as JSON", () => {
    const format = one(production, "AWS::ApiGatewayV2::Stage").resource.Properties.AccessLogSettings.Format;
    // every value quoted, so the format itself is JSON (what cdk-nag's Serverless-APIGWStructuredLogging parses)
    const fields = JSON.parse(format);
    expect(fields).toMatchObject({
      requestId: "$context.requestId",
      routeKey: "$context.routeKey",
      status: "$context.status",
      ip: "$context.identity.sourceIp",
      // the IAM principal of a SigV4-signed admin call, and the error API Gateway answered with
      userArn: "$context.identity.userArn",
      errorMessage: "$context.error.message",
    });
    for (const value of Object.values(fields)) expect(value).toMatch(/^\$context\.[A-Za-z.]+$/);
  });

  it("keeps every stage's throttling within the account-wide API Gateway defaults (10,000 rps, burst 5,000)", () => {
    expect(AWS_DEFAULT_QUOTAS).toMatchObject({ apiRatePerSecond: 10_000, apiBurst: 5_000 });
    for (const [name, c] of ALL_CONFIGS) {
      expect(c.accountQuotas, name).toEqual(AWS_DEFAULT_QUOTAS);
      expect(c.api.throttleRate, name).toBeLessThanOrEqual(10_000);
      expect(c.api.throttleBurst, name).toBeLessThanOrEqual(5_000);
    }
    expect(one(production, "AWS::ApiGatewayV2::Stage").resource.Properties.DefaultRouteSettings.ThrottlingBurstLimit).toBeLessThanOrEqual(5_000);
  });

  it("refuses a throttle above the account's quotas unless the stage declares a raised quota", () => {
    const tooBursty = { ...productionConfig, api: { ...productionConfig.api, throttleBurst: 10_000 } };
    expect(() => validateForTest("production", tooBursty)).toThrow(/api.throttleBurst \(10000\) exceeds the account's API Gateway burst/);
    const tooFast = { ...productionConfig, api: { ...productionConfig.api, throttleRate: 12_000 } };
    expect(() => validateForTest("production", tooFast)).toThrow(/api.throttleRate \(12000\) exceeds/);
    const raised = { ...tooBursty, accountQuotas: { ...AWS_DEFAULT_QUOTAS, apiBurst: 10_000 } };
    expect(() => validateForTest("production", raised)).not.toThrow();
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
    expect(defaultConfig.sweeper.reservationTtlSeconds).toBe(1200);
  });

  it("refuses a TTL the queue could still be retrying within", () => {
    const bad = { ...stagingConfig, sweeper: { rateMinutes: 1, reservationTtlSeconds: 300 } };
    expect(() => validateForTest("bad", bad)).toThrow(/reservationTtlSeconds must exceed/);
    // 180 s visibility x 5 receives = 900 s: the old 900 s TTL no longer fits
    const equal = { ...stagingConfig, sweeper: { rateMinutes: 1, reservationTtlSeconds: 900 } };
    expect(() => validateForTest("bad", equal)).toThrow(/reservationTtlSeconds must exceed the queue's retry span .* = 900 s/);
  });

  it("keeps every stage's TTL above visibility timeout x maxReceiveCount, as deployed", () => {
    for (const [s, c] of [
      [staging, stagingConfig],
      [production, productionConfig],
      [ephemeral, defaultConfig],
    ] as const) {
      const main = s.resources("AWS::SQS::Queue").find((q) => q.resource.Properties.RedrivePolicy)!.resource.Properties;
      const ttl = Number(fnByHandler(s, HANDLERS.sweeper).resource.Properties.Environment.Variables.RESERVATION_TTL_SECONDS);
      expect(ttl, s.stage).toBe(c.sweeper.reservationTtlSeconds);
      expect(ttl, s.stage).toBeGreaterThan(main.VisibilityTimeout * main.RedrivePolicy.maxReceiveCount);
    }
  });

  it("redrives after at least 5 receives (AWS's recommendation for Lambda consumers) on every stage", () => {
    for (const [name, c] of ALL_CONFIGS) expect(c.queue.maxReceiveCount, name).toBeGreaterThanOrEqual(5);
    const three = { ...stagingConfig, queue: { ...stagingConfig.queue, maxReceiveCount: 3 } };
    expect(() => validateForTest("bad", three)).toThrow(/queue.maxReceiveCount must be 5..1000/);
    // every function is told the same count (the processor's last attempt dead-letters with a reason)
    for (const f of production.functions()) {
      expect(f.resource.Properties.Environment.Variables.MAX_RECEIVE_COUNT).toBe(String(productionConfig.queue.maxReceiveCount));
    }
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

  it("reserves at least the mapping's maximum concurrency for the processor, and 1 for the sweeper", () => {
    for (const [s, c] of [
      [staging, stagingConfig],
      [production, productionConfig],
      [ephemeral, defaultConfig],
    ] as const) {
      const esm = one(s, "AWS::Lambda::EventSourceMapping").resource.Properties;
      const processor = fnByHandler(s, HANDLERS.processor).resource.Properties;
      expect(processor.ReservedConcurrentExecutions, s.stage).toBe(c.processor.reservedConcurrency);
      expect(processor.ReservedConcurrentExecutions, s.stage).toBeGreaterThanOrEqual(esm.ScalingConfig.MaximumConcurrency);
      expect(fnByHandler(s, HANDLERS.sweeper).resource.Properties.ReservedConcurrentExecutions, s.stage).toBe(1);
      // the API functions run on the unreserved pool
      for (const handler of [HANDLERS.buy, HANDLERS.order, HANDLERS.item, HANDLERS.health, HANDLERS.admin]) {
        expect(fnByHandler(s, handler).resource.Properties.ReservedConcurrentExecutions, `${s.stage} ${handler}`).toBeUndefined();
      }
    }
  });

  it("keeps the stage's reservations well under the account's concurrency, 100 of it unreserved", () => {
    for (const [name, c] of ALL_CONFIGS) {
      const reserved = c.processor.reservedConcurrency + 1;
      expect(reserved, name).toBeLessThanOrEqual(c.accountQuotas.lambdaConcurrency - 100);
      expect(reserved, name).toBeLessThanOrEqual(c.accountQuotas.lambdaConcurrency / 4);
    }
    const below = { ...productionConfig, processor: { ...productionConfig.processor, reservedConcurrency: 40 } };
    expect(() => validateForTest("bad", below)).toThrow(/reservedConcurrency must be >= processor.maxConcurrency/);
    const greedy = { ...productionConfig, processor: { ...productionConfig.processor, maxConcurrency: 300, reservedConcurrency: 300 } };
    expect(() => validateForTest("bad", greedy)).toThrow(/must stay within 25 % of accountQuotas.lambdaConcurrency \(1000\)/);
    const tiny = { ...defaultConfig, accountQuotas: { ...AWS_DEFAULT_QUOTAS, lambdaConcurrency: 100 } };
    expect(() => validateForTest("bad", tiny)).toThrow(/must leave 100 of accountQuotas.lambdaConcurrency \(100\) unreserved/);
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

  it("alarms on sweeper errors", () => {
    const sweeperId = fnByHandler(staging, HANDLERS.sweeper).id;
    const errors = alarms(staging).filter((x) => x.MetricName === "Errors" && flat(x.Dimensions).includes(sweeperId));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      Namespace: "AWS/Lambda",
      Statistic: "Sum",
      Threshold: stagingConfig.alarms.sweeperErrors,
      ComparisonOperator: "GreaterThanThreshold",
    });
    expect(flat(errors[0].AlarmName)).toContain("SweeperErrors");
  });

  it("alarms when an order waits in the queue for a third of the reservation TTL", () => {
    for (const [s, c] of [
      [staging, stagingConfig],
      [production, productionConfig],
    ] as const) {
      const age = alarms(s).filter((a) => a.MetricName === "ApproximateAgeOfOldestMessage" && flat(a.Dimensions).includes("OrdersQueue"));
      expect(age, s.stage).toHaveLength(1);
      expect(age[0]).toMatchObject({
        Namespace: "AWS/SQS",
        Statistic: "Maximum",
        Threshold: Math.floor(c.sweeper.reservationTtlSeconds / 3),
        ComparisonOperator: "GreaterThanThreshold",
      });
      expect(queueAgeAlarmSeconds(c)).toBe(age[0].Threshold);
      // well below the TTL, and above the time one order normally spends in the queue
      expect(age[0].Threshold).toBeLessThan(c.sweeper.reservationTtlSeconds / 2);
    }
  });

  it("alarms on ElastiCache Serverless throttling and on ECPUs near the cache's limit", () => {
    for (const [s, c] of [
      [staging, stagingConfig],
      [production, productionConfig],
    ] as const) {
      const cacheName = one(s, "AWS::ElastiCache::ServerlessCache").resource.Properties.ServerlessCacheName;
      const throttled = alarms(s).filter((a) => a.MetricName === "ThrottledCmds");
      expect(throttled, s.stage).toHaveLength(1);
      expect(throttled[0]).toMatchObject({
        Namespace: "AWS/ElastiCache",
        Statistic: "Sum",
        Threshold: c.alarms.cacheThrottledCmds,
        ComparisonOperator: "GreaterThanThreshold",
        // serverless caches publish under clusterId (not CacheClusterId), valued with the cache's name
        Dimensions: [{ Name: "clusterId", Value: cacheName }],
      });
      const ecpu = alarms(s).filter((a) => a.AlarmName && flat(a.AlarmName).includes("CacheEcpuHigh"));
      expect(ecpu, s.stage).toHaveLength(1);
      expect(ecpu[0]).toMatchObject({ Threshold: 80, ComparisonOperator: "GreaterThanThreshold" });
      const expression = ecpu[0].Metrics.find((m: any) => m.Expression);
      expect(expression.Expression).toBe(`100 * ecpu / PERIOD(ecpu) / ${c.cache.maxEcpuPerSecond}`);
      const used = ecpu[0].Metrics.find((m: any) => m.Id === "ecpu").MetricStat;
      expect(used).toMatchObject({
        Metric: { Namespace: "AWS/ElastiCache", MetricName: "ElastiCacheProcessingUnits", Dimensions: [{ Name: "clusterId", Value: cacheName }] },
        Stat: "Sum",
        Period: c.alarms.periodSeconds,
      });
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

  it("sends every alarm to the SNS topic", () => {
    for (const s of [staging, production]) {
      const all = alarms(s);
      expect(all, s.stage).toHaveLength(15); // with ScriptErrors and QueueCircuitOpen
      for (const a of all) {
        expect(flat(a.AlarmActions), a.AlarmName).toContain(topicId(s));
        expect(flat(a.OKActions), a.AlarmName).toContain(topicId(s));
        expect(a.TreatMissingData).toBe("notBreaching");
      }
    }
  });

  it("emails production's alarms to the addresses in ALARM_EMAILS at deploy time; other stages may have none", () => {
    const subscriptions = production.resources("AWS::SNS::Subscription").map((x) => x.resource.Properties);
    expect(subscriptions.map((x) => x.Endpoint).sort()).toEqual([...PRODUCTION_ALARM_EMAILS].sort());
    for (const x of subscriptions) {
      expect(x.Protocol).toBe("email");
      expect(x.TopicArn).toEqual({ Ref: topicId(production) });
    }
    expect(productionConfig.alarms.requireEmails).toBe(true);
    expect(staging.resources("AWS::SNS::Subscription")).toHaveLength(0);
    expect(ephemeral.resources("AWS::SNS::Subscription")).toHaveLength(0);
    // no example.com placeholders left in any stage's config
    for (const [name, c] of ALL_CONFIGS) for (const email of c.alarms.emails) expect(email, name).not.toMatch(/example\./);
  });

  it("resolves alarm emails from ALARM_EMAILS or the stage config, refusing placeholders and a production without any", () => {
    const withConfigEmails: StageConfig = { ...productionConfig, alarms: { ...productionConfig.alarms, emails: ["ops@flash.shop"] } };
    expect(resolveAlarmEmails("production", withConfigEmails, {})).toEqual(["ops@flash.shop"]);
    // ALARM_EMAILS replaces the config's list; blanks and duplicates are dropped
    expect(resolveAlarmEmails("production", withConfigEmails, { ALARM_EMAILS: " a@flash.shop, ,b@flash.shop,a@flash.shop " })).toEqual([
      "a@flash.shop",
      "b@flash.shop",
    ]);
    expect(() => resolveAlarmEmails("production", productionConfig, {})).toThrow(
      /invalid alarm emails for "production": no alarm email subscribers: set ALARM_EMAILS=/,
    );
    expect(() => resolveAlarmEmails("production", productionConfig, { ALARM_EMAILS: "" })).toThrow(/ALARM_EMAILS/);
    for (const placeholder of ["oncall@example.com", "me@shop.example", "a@b.test", "x@mail.example.org"]) {
      expect(() => resolveAlarmEmails("production", productionConfig, { ALARM_EMAILS: placeholder })).toThrow(
        /ALARM_EMAILS: ".*" is a placeholder address/,
      );
      expect(() => resolveAlarmEmails("staging", stagingConfig, { ALARM_EMAILS: placeholder })).toThrow(/placeholder/);
    }
    expect(() => resolveAlarmEmails("production", productionConfig, { ALARM_EMAILS: "not-an-address" })).toThrow(/is not an email address/);
    // other stages may have none
    expect(resolveAlarmEmails("staging", stagingConfig, {})).toEqual([]);
    expect(resolveAlarmEmails("pr-42", defaultConfig, {})).toEqual([]);
    // and a placeholder in the config itself is refused by the config check
    const placeholderConfig = { ...stagingConfig, alarms: { ...stagingConfig.alarms, emails: ["oncall-staging@example.com"] } };
    expect(() => validateForTest("staging", placeholderConfig)).toThrow(/alarms.emails: "oncall-staging@example.com" is a placeholder/);
  });

  it("has a dashboard with the app's EMF metrics, queue/DLQ depth and age, and processor health", () => {
    const dash = one(staging, "AWS::CloudWatch::Dashboard");
    expect(dash.resource.Properties.DashboardName).toBe("staging-flash-sale-dashboard");
    const body = flat(dash.resource.Properties.DashboardBody);
    for (const name of [
      "OrdersReceived", "OrdersAccepted", "OrdersRejected", "EnqueueFailed", "OrdersCompleted", "OrdersFailed", "BuyDuration",
      "RejectedValidationFailed", "RejectedDuplicateRequest", "RejectedRateLimited", "RejectedPurchaseLimitExceeded", "RejectedSoldOut",
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
    for (const name of ["ThrottledCmds", "ElastiCacheProcessingUnits", "PERIOD(ecpu)"]) expect(body, name).toContain(name);
    for (const title of ["Buy latency", "Orders queue depth", "DLQ depth", "Processor invocations / concurrency", "Processor errors / throttles", "Inventory remaining per item", "Rejections by reason", "Sweeper invocations / errors", "Cache ECPU (% of limit) / throttled commands"]) {
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
      // A live buy call is never taken over: the window outlasts the API function's timeout.
      expect(Number(env.ADMISSION_TAKEOVER_MS)).toBeGreaterThan(stagingConfig.apiFunctions.timeoutSeconds * 1000);
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

  it("load at init the AWS SDK clients their handler uses, and no other", () => {
    // Each client adds to every cold start (docs/benchmarks.md, "Function bundles"); a handler names its own in initClients().
    const uses: Record<keyof typeof HANDLERS, string[]> = {
      buy: ["client-dynamodb", "client-sqs"],
      order: ["client-dynamodb"],
      health: ["client-dynamodb", "client-sqs"],
      admin: ["client-dynamodb"],
      item: [], // Valkey only
      notAllowed: [], // the route table only
      processor: ["client-dynamodb", "client-sqs"],
      sweeper: ["client-dynamodb"],
    };
    // The synth writes outside the repo; the SDK, which Lambda's runtime provides, is found through this link.
    const sdk = path.join(staging.outdir, "node_modules");
    if (!fs.existsSync(sdk)) fs.symlinkSync(path.join(ROOT, "node_modules"), sdk, "dir");
    for (const [name, handler] of Object.entries(HANDLERS) as [keyof typeof HANDLERS, string][]) {
      const root = staging.assetDir(fnByHandler(staging, handler).resource);
      const { clients } = importAsOnLambda(path.join(root, handler.replace(/\.[^.]+$/, ".mjs")), root, name);
      expect(clients, name).toEqual(uses[name]);
    }
  });
});

describe("least-privilege IAM", () => {
  it("allows no wildcard action in any policy statement of any stack (IAM and resource policies)", () => {
    for (const s of [staging, production, ephemeral]) {
      const statements = allStatements(s);
      const types = new Set(statements.map((x) => x.type));
      for (const t of ["AWS::IAM::Policy", "AWS::IAM::Role", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"]) {
        expect(types, `${s.stage} has ${t} statements`).toContain(t);
      }
      const allows = statements.filter((x) => x.statement.Effect === "Allow");
      expect(allows.length).toBeGreaterThan(0);
      // A Deny with a wildcard (the queues' and topic's TLS-only deny of sqs:* / sns:*) grants nothing.
      for (const { stack, id, statement } of allows) {
        for (const action of asArray<string>(statement.Action)) {
          expect(action.includes("*"), `${s.stage} ${stack}/${id}: ${action}`).toBe(false);
        }
        expect(statement.NotAction, `${stack}/${id}`).toBeUndefined();
      }
      for (const { statement } of statements) expect(["Allow", "Deny"]).toContain(statement.Effect);
    }
  });

  it("denies non-TLS access to both queues (the queue construct's enforceSSL)", () => {
    for (const s of [staging, production]) {
      const policies = s.resources("AWS::SQS::QueuePolicy");
      expect(policies).toHaveLength(2);
      const queues = s.resources("AWS::SQS::Queue").map((q) => q.id).sort();
      expect(policies.map((p) => p.resource.Properties.Queues[0].Ref).sort()).toEqual(queues);
      for (const p of policies) {
        const statements = p.resource.Properties.PolicyDocument.Statement;
        expect(statements).toHaveLength(1);
        expect(statements[0]).toMatchObject({
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "sqs:*",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
        expect(statements[0].Resource).toEqual({ "Fn::GetAtt": [p.resource.Properties.Queues[0].Ref, "Arn"] });
      }
    }
  });

  it("never allows an app function anything on Resource '*'; its only statement on '*' is the ENI deny", () => {
    for (const f of staging.functions()) {
      for (const st of roleStatements(staging, f)) {
        if (st.Effect === "Allow") {
          expect(asArray(st.Resource), `${f.id} ${flat(st.Action)}`).not.toContain("*");
        } else {
          expect(st.Effect).toBe("Deny");
          expect(st.Action, f.id).toEqual(ENI_ACTIONS_DENIED_TO_CODE);
        }
      }
    }
  });

  it("denies function code the ENI actions of the VPC access policy (lambda:SourceFunctionArn = the function)", () => {
    expect([...ENI_ACTIONS_DENIED_TO_CODE].sort()).toEqual(
      [
        "ec2:AssignPrivateIpAddresses",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DetachNetworkInterface",
        "ec2:UnassignPrivateIpAddresses",
      ].sort(),
    );
    for (const s of [staging, production, ephemeral]) {
      const fns = s.functions();
      expect(fns).toHaveLength(8);
      for (const f of fns) {
        const denies = roleStatements(s, f).filter((st) => st.Effect === "Deny");
        expect(denies, `${s.stage} ${f.id}`).toEqual([
          {
            Effect: "Deny",
            Action: ENI_ACTIONS_DENIED_TO_CODE,
            Resource: "*",
            Condition: { ArnEquals: { "lambda:SourceFunctionArn": { "Fn::GetAtt": [f.id, "Arn"] } } },
          },
        ]);
        // in a policy of its own that the function does not depend on (it refers to the function's ARN)
        const policy = s
          .resources("AWS::IAM::Policy")
          .find((p) => p.stack === f.stack && flat(p.resource.Properties.PolicyDocument).includes("lambda:SourceFunctionArn") && flat(p.resource.Properties.PolicyDocument).includes(`"${f.id}"`))!;
        expect(policy, `${s.stage} ${f.id}`).toBeDefined();
        expect(asArray((f.resource as any).DependsOn)).not.toContain(policy.id);
      }
    }
  });

  it("grants each function exactly what it needs", () => {
    // Every function authenticates to the cache as its IAM-mode user: elasticache:Connect on that cache and user only.
    const grants = (handler: string) => {
      const all = roleGrants(staging, fnByHandler(staging, handler));
      const connect = all.filter((st) => asArray(st.Action).includes("elasticache:Connect"));
      expect(connect, handler).toHaveLength(1);
      expect(asArray(connect[0].Action)).toEqual(["elasticache:Connect"]);
      expect(flat(connect[0].Resource)).toContain("Cache");
      expect(flat(connect[0].Resource)).toContain("CacheUser");
      return all.filter((st) => !asArray(st.Action).includes("elasticache:Connect"));
    };
    const buy = grants(HANDLERS.buy);
    expect(actionsOf(buy)).toEqual(["dynamodb:GetItem", "sqs:SendMessage"]);
    const buySend = buy.find((st) => asArray(st.Action).includes("sqs:SendMessage"));
    expect(asArray(buySend.Action)).toEqual(["sqs:SendMessage"]);
    expect(flat(buySend.Resource)).toContain("OrdersQueue");
    // a duplicate request_id answers with the stored order's status: GetItem on the table itself
    const buyGet = buy.find((st) => asArray(st.Action).includes("dynamodb:GetItem"));
    expect(asArray(buyGet.Action)).toEqual(["dynamodb:GetItem"]);
    expect(flat(buyGet.Resource)).toContain("OrdersTable");
    expect(flat(buyGet.Resource)).not.toContain("/index/");

    const order = grants(HANDLERS.order);
    expect(actionsOf(order)).toEqual(["dynamodb:GetItem"]);
    expect(flat(order[0].Resource)).toContain("OrdersTable");

    const health = grants(HANDLERS.health);
    expect(actionsOf(health)).toEqual(["dynamodb:DescribeTable", "sqs:GetQueueAttributes"]);
    const attributes = health.find((st) => asArray(st.Action).includes("sqs:GetQueueAttributes"));
    expect(asArray(attributes.Resource)).toHaveLength(1);
    expect(flat(attributes.Resource)).toContain("OrdersQueue");
    expect(flat(attributes.Resource)).not.toContain("OrdersDlq");

    // The item view reads Valkey only: no AWS data grant at all.
    expect(grants(HANDLERS.item)).toEqual([]);

    const admin = grants(HANDLERS.admin);
    expect(actionsOf(admin)).toEqual(["dynamodb:Query"]);
    expect(admin).toHaveLength(1);
    // the index only, not the table
    expect(flat(admin[0].Resource)).toContain("/index/by_item");

    // The sweeper reads an overdue hold's order record before releasing anything (the record decides), then writes it.
    const sweeper = grants(HANDLERS.sweeper);
    expect(actionsOf(sweeper)).toEqual(["dynamodb:GetItem", "dynamodb:UpdateItem"]);
    expect(flat(sweeper[0].Resource)).toContain("OrdersTable");
    expect(flat(sweeper[0].Resource)).not.toContain("/index/");

    const processor = grants(HANDLERS.processor);
    expect(actionsOf(processor)).toEqual(
      [
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
      ].sort(),
    );
    // the code never resolves a queue URL (QUEUE_URL/DLQ_URL come from the environment), nor does the mapping
    for (const s of [staging, production, ephemeral]) {
      for (const f of s.functions()) expect(actionsOf(roleGrants(s, f)), `${s.stage} ${f.id}`).not.toContain("sqs:GetQueueUrl");
    }
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

describe("cdk-nag (AwsSolutionsChecks + ServerlessChecks)", () => {
  /** The suppressions in a synthesized stage: the cdk_nag metadata the stacks put on their resources. */
  const suppressions = (s: Synth) =>
    s.resources().flatMap(({ stack, id, resource }) =>
      ((resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) as Array<{ id: string; reason: string; applies_to?: unknown[] }>).map(
        (rule) => ({ stack, resource: id, ...rule }),
      ),
    );

  it("reports a finding as a stack annotation on this aws-cdk-lib (a queue without TLS enforcement)", () => {
    const app = new CdkApp();
    const stack = new CdkStack(app, "NagControl");
    new sqs.Queue(stack, "Plain");
    Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true, reports: false }));
    Aspects.of(app).add(new ServerlessChecks({ verbose: true, reports: false }));
    const findings = nagFindings(app.synth());
    expect(findings.filter((f) => f.level === "error").map((f) => f.rule)).toContain("AwsSolutions-SQS4");
  });

  it("finds no unsuppressed error (nor warning) on staging and production", () => {
    for (const s of [staging, production]) {
      const errors = s.nag.filter((f) => f.level === "error").map((f) => `${f.path} ${f.rule}: ${f.message}`);
      expect(errors, `${s.stage}: cdk-nag errors`).toEqual([]);
      const warnings = s.nag.filter((f) => f.level === "warning").map((f) => `${f.path} ${f.rule}`);
      expect(warnings, `${s.stage}: cdk-nag warnings`).toEqual([]);
    }
  });

  it("suppresses only with a stated reason, and docs/deploy.md lists every suppressed rule", () => {
    const deployDoc = fs.readFileSync(path.join(ROOT, "docs/deploy.md"), "utf8");
    expect(deployDoc.indexOf("### cdk-nag")).toBeGreaterThan(0);
    const section = deployDoc.slice(deployDoc.indexOf("### cdk-nag"));
    for (const s of [staging, production]) {
      const all = suppressions(s);
      expect(all.length, s.stage).toBeGreaterThan(0);
      for (const rule of all) {
        expect(rule.reason.length, `${s.stage} ${rule.resource} ${rule.id}`).toBeGreaterThan(40);
        // a table row: | `Rule-Id` | ... or | `Rule-Id` (warning) | ...
        expect(section, `${rule.id} (${rule.stack}/${rule.resource}) in docs/deploy.md`).toMatch(new RegExp(`^\\| \`${rule.id}\`[^|\\n]*\\|`, "m"));
      }
    }
    // fixed, not suppressed: TLS-only queues, flow logs on production, JSON access logs
    const production_ = suppressions(production).map((r) => r.id);
    for (const fixed of ["AwsSolutions-SQS4", "AwsSolutions-VPC7", "Serverless-APIGWStructuredLogging"]) expect(production_).not.toContain(fixed);
  });
});

describe("outputs", () => {
  it("exports ApiUrl, QueueUrl, DlqUrl, OrdersTable, DashboardUrl, AlarmTopicArn, StorefrontUrl", () => {
    const outputs = Object.values(staging.stacks).flatMap((s) => Object.keys(s.json.Outputs ?? {}));
    for (const name of ["ApiUrl", "QueueUrl", "DlqUrl", "OrdersTable", "DashboardUrl", "AlarmTopicArn", "StorefrontUrl"]) {
      expect(outputs, name).toContain(name);
    }
    const dashboardUrl = staging.stacks.Monitoring.json.Outputs!.DashboardUrl.Value;
    expect(flat(dashboardUrl)).toContain("#dashboards/dashboard/staging-flash-sale-dashboard");
  });
});

describe("storefront (SST StaticSite)", () => {
  const resourcesOf = (s: Synth) => s.stacks.Storefront!.json.Resources;
  const ofType = (s: Synth, type: string) => Object.entries(resourcesOf(s)).filter(([, r]) => r.Type === type);
  const uploader = (s: Synth) => {
    const found = ofType(s, "Custom::S3Uploader");
    expect(found).toHaveLength(1);
    return found[0]![1].Properties;
  };

  it("is deployed with staging and production, not with throwaway stages (their bucket could not be removed)", () => {
    expect(staging.stacks.Storefront?.name).toBe("staging-flash-sale-Storefront");
    expect(production.stacks.Storefront?.name).toBe("production-flash-sale-Storefront");
    expect(ephemeral.stacks.Storefront).toBeUndefined();
    expect(defaultConfig.storefront.enabled).toBe(false);
  });

  it("serves storefront/ from a private, TLS-only bucket through CloudFront (HTTPS, origin access control)", () => {
    const buckets = ofType(staging, "AWS::S3::Bucket");
    expect(buckets).toHaveLength(1); // no log bucket on staging (storefront.accessLogs)
    const [bucketId, bucket] = buckets[0]!;
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe("AES256");
    expect(bucket.DeletionPolicy).toBe("Retain"); // like the stage's other data: sst remove leaves it
    const [, policy] = ofType(staging, "AWS::S3::BucketPolicy")[0]!;
    const statements = policy.Properties.PolicyDocument.Statement as any[];
    expect(statements.find((st) => st.Effect === "Deny")).toMatchObject({ Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    // readable by this distribution only
    const allows = statements.filter((st) => st.Effect === "Allow");
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({ Action: "s3:GetObject", Principal: { Service: "cloudfront.amazonaws.com" } });
    expect(flat(allows[0].Condition.StringEquals["AWS:SourceArn"])).toContain("StorefrontDistribution");

    const [, distribution] = ofType(staging, "AWS::CloudFront::Distribution")[0]!;
    const d = distribution.Properties.DistributionConfig;
    expect(d.DefaultRootObject).toBe("index.html");
    expect(d.DefaultCacheBehavior.ViewerProtocolPolicy).toBe("redirect-to-https");
    expect(d.Origins).toHaveLength(1);
    expect(flat(d.Origins[0].DomainName)).toContain(bucketId);
    expect(d.Origins[0].OriginAccessControlId).toBeDefined();
    expect(d.Origins[0].S3OriginConfig.OriginAccessIdentity).toBe("");
    expect(ofType(staging, "AWS::CloudFront::CloudFrontOriginAccessIdentity")).toHaveLength(0);
  });

  it("uploads exactly the files of storefront/, with the API's URL and the stage's settings written into config.js", () => {
    const props = uploader(staging);
    // the file list SST uploads (and purges everything else by): the site folder as it is
    const listed = fs.readFileSync(path.join(staging.outdir, `asset.${props.filenames.objectKey.split(".")[0]}`), "utf8").split("\n").sort();
    expect(listed).toEqual(fs.readdirSync(path.join(ROOT, STOREFRONT_PATH)).sort());
    expect(listed).toEqual(["app.js", "config.js", "favicon.svg", "index.html", "outcomes.js", "style.css"]);
    const zip = props.sources[0].objectKey as string;
    expect(fs.existsSync(path.join(staging.outdir, `asset.${zip}`))).toBe(true);

    // config.js holds the placeholders the deploy replaces
    const template = fs.readFileSync(path.join(ROOT, STOREFRONT_PATH, "config.js"), "utf8");
    for (const placeholder of ["{{ API_URL }}", "{{ STOREFRONT_AUTH }}", "{{ STOREFRONT_ITEMS }}"]) expect(template).toContain(placeholder);
    const replace = (search: string) => (props.replaceValues as any[]).filter((r) => r.search === search);
    const apiUrl = replace("{{ API_URL }}");
    expect(apiUrl.map((r) => r.files).sort()).toEqual(["**/*.html", "**/*.js"]);
    for (const r of apiUrl) expect(r.replace).toEqual({ "Fn::ImportValue": expect.stringMatching(/^staging-flash-sale-Api:.*ApiEndpoint/) });
    expect(replace("{{ STOREFRONT_AUTH }}")).toEqual([{ files: "config.js", search: "{{ STOREFRONT_AUTH }}", replace: String(stagingConfig.storefront.auth) }]);
    expect(replace("{{ STOREFRONT_ITEMS }}")).toEqual([{ files: "config.js", search: "{{ STOREFRONT_ITEMS }}", replace: stagingConfig.storefront.items.join(",") }]);

    // no file is cached for a year: the names carry no content hash (the last matching option wins)
    const last = (props.fileOptions as any[]).at(-1);
    expect(last).toEqual({ files: ["**/*.js", "**/*.css"], cacheControl: "max-age=0,no-cache,no-store,must-revalidate" });
    // and each deploy invalidates CloudFront's copies
    expect(ofType(staging, "Custom::CloudFrontInvalidator")).toHaveLength(1);
  });

  it("outputs its URL as StorefrontUrl: the distribution's https address", () => {
    const url = staging.stacks.Storefront!.json.Outputs!.StorefrontUrl.Value;
    expect(url).toEqual({ "Fn::Join": ["", ["https://", { "Fn::GetAtt": [expect.stringMatching(/^StorefrontDistribution/), "DomainName"] }]] });
  });

  it("logs CloudFront and S3 access to a retained log bucket on production (storefront.accessLogs), kept for logRetention", () => {
    expect(productionConfig.storefront.accessLogs).toBe(true);
    const buckets = Object.fromEntries(ofType(production, "AWS::S3::Bucket"));
    const logsId = Object.keys(buckets).find((id) => id.startsWith("StorefrontLogs"))!;
    const filesId = Object.keys(buckets).find((id) => id.startsWith("StorefrontFiles"))!;
    expect(buckets[logsId].DeletionPolicy).toBe("Retain");
    expect(buckets[logsId].Properties.LifecycleConfiguration.Rules).toEqual([{ ExpirationInDays: 30, Status: "Enabled" }]); // one_month
    expect(buckets[filesId].Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsId }, LogFilePrefix: "s3/" });
    const [, distribution] = ofType(production, "AWS::CloudFront::Distribution")[0]!;
    expect(distribution.Properties.DistributionConfig.Logging).toEqual({ Bucket: { "Fn::GetAtt": [logsId, "RegionalDomainName"] }, Prefix: "cloudfront/" });
  });
});
