import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ALL_METRICS, Metric, rejectedMetric } from "@flash/core/contract/metrics";

const ROOT = path.resolve(__dirname, "../..");

/** The EMF documents telemetry.ts prints, with metrics switched on for this test only. */
async function emitted(work: (t: typeof import("@flash/core/runtime/telemetry")) => void) {
  vi.resetModules();
  vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  try {
    const t = await import("@flash/core/runtime/telemetry");
    t.useStage("test-stage"); // what wiring a runtime with STAGE=test-stage does
    work(t);
    t.metrics.publishStoredMetrics();
  } finally {
    write.mockRestore();
    log.mockRestore();
  }
  return lines.flatMap((l) => l.split("\n")).filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
}

afterEach(() => vi.unstubAllEnvs());

describe("EMF metrics", () => {
  it("publish InventoryRemaining per item and once without the item, for the inventory-low alarm", async () => {
    const docs = await emitted((t) => t.inventoryRemaining("sku-1", 7));
    const dims = docs.map((d) => d._aws.CloudWatchMetrics[0].Dimensions[0].sort());
    expect(dims).toEqual([["item", "service", "stage"], ["service", "stage"]]);
    for (const d of docs) {
      expect(d._aws.CloudWatchMetrics[0].Namespace).toBe("FlashSale");
      expect(d.InventoryRemaining).toBe(7);
      expect(d.stage).toBe("test-stage");
    }
    expect(docs[0].item).toBe("sku-1");
  });

  it("keep every other metric on {service, stage} only", async () => {
    const docs = await emitted((t) => {
      t.count(Metric.OrdersReceived);
      t.count(rejectedMetric("sold_out"));
      t.milliseconds(Metric.BuyDuration, 12);
    });
    expect(docs).toHaveLength(1);
    expect(docs[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "stage"]]);
    expect(docs[0]).toMatchObject({ OrdersReceived: 1, RejectedSoldOut: 1, BuyDuration: 12 });
  });
});

describe("docs", () => {
  const metricsDoc = fs.readFileSync(path.join(ROOT, "docs/metrics.md"), "utf8");
  const runbook = fs.readFileSync(path.join(ROOT, "docs/operations.md"), "utf8");

  it("docs/metrics.md lists every metric the code emits and the dashboard reads", async () => {
    // Every metric the contract declares, each rejection reason and failure status included; the dashboard reads these.
    const names = new Set<string>(ALL_METRICS);
    for (const name of names) expect(metricsDoc, name).toContain(`\`${name}\``);
  });

  it("docs/operations.md has a runbook entry for every alarm in stacks/Monitoring.ts", () => {
    const stack = fs.readFileSync(path.join(ROOT, "stacks/Monitoring.ts"), "utf8");
    const alarms = [...stack.matchAll(/alarm\("([A-Za-z0-9]+)"/g)].map((m) => m[1]!);
    expect(alarms.length).toBeGreaterThanOrEqual(9);
    for (const name of alarms) expect(runbook, name).toMatch(new RegExp(`^### .*\`${name}\``, "m"));
  });
});
