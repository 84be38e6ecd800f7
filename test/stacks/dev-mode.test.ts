import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allStatements, asArray, synth, type Synth } from "./synth.js";

// `sst dev` mode, in its own file (and process) so that it synthesizes in parallel with stacks.test.ts.
let dev: Synth;

beforeAll(async () => {
  dev = await synth("alice", "dev", { REDIS_URL: "redis://127.0.0.1:6379", REDIS_CLUSTER: "false" });
}, 120_000);

afterAll(() => {
  if (dev) fs.rmSync(dev.outdir, { recursive: true, force: true });
});

describe("sst dev mode", () => {
  it("creates no VPC and no cache, and runs functions outside any VPC with REDIS_URL from the environment", () => {
    expect(dev.resources("AWS::EC2::VPC")).toHaveLength(0);
    expect(dev.resources("AWS::ElastiCache::ServerlessCache")).toHaveLength(0);
    const fns = dev.functions();
    expect(fns).toHaveLength(8);
    for (const f of fns) {
      expect(f.resource.Properties.VpcConfig, f.id).toBeUndefined();
      expect(f.resource.Properties.Environment.Variables.REDIS_URL).toBe("redis://127.0.0.1:6379");
      expect(f.resource.Properties.Environment.Variables.REDIS_CLUSTER).toBe("false");
    }
    // the queue, DLQ and table are still real AWS resources
    expect(dev.resources("AWS::SQS::Queue")).toHaveLength(2);
    expect(dev.resources("AWS::DynamoDB::Table")).toHaveLength(1);
    expect(dev.resources("AWS::DynamoDB::Table")[0]!.resource.Properties.GlobalSecondaryIndexes[0].IndexName).toBe("by_item");
  });

  it("allows no wildcard action in any policy statement of the app's stacks", () => {
    // Allow statements only: a Deny with a wildcard (the queues' TLS-only deny of sqs:*) grants nothing.
    const statements = allStatements(dev).filter((x) => x.statement.Effect === "Allow");
    expect(statements.length).toBeGreaterThan(0);
    for (const { stack, id, statement } of statements) {
      for (const action of asArray<string>(statement.Action)) expect(action.includes("*"), `${stack}/${id}: ${action}`).toBe(false);
      expect(statement.NotAction, `${stack}/${id}`).toBeUndefined();
    }
  });

  it("fails with a clear error when REDIS_URL is unset", async () => {
    await expect(synth("bob", "dev", { REDIS_URL: undefined })).rejects.toThrow(/REDIS_URL is not set/);
  });
});
