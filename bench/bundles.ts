/**
 * Bundle bytes and cold import time of each Lambda handler, as SST bundles it for the staging stage, and which AWS
 * SDK clients importing it loads. Each sample is a fresh Node process importing the bundle as Lambda's init does
 * (lambda-import.ts): what a cold start pays before the handler runs, the Lambda runtime's own init not included.
 * Median of 5.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { importAsOnLambda } from "./lambda-import";

execFileSync(process.execPath, ["--import", "tsx", "scripts/synth.ts", "--stage", "staging"], { stdio: "ignore" });

const dist = ".sst/dist";
const bundles: { name: string; file: string; root: string }[] = [];
for (const asset of readdirSync(dist).filter((d) => d.startsWith("asset."))) {
  const root = join(dist, asset, "packages/functions/src");
  if (!existsSync(root)) continue;
  // Handlers sit one folder down (http/, queue/, schedule/): the name is that path, e.g. "http/buy".
  for (const f of readdirSync(root, { recursive: true }) as string[]) {
    // Chunks (a dynamic import's code, e.g. the Kafka adapter: "queue-ABCD1234.mjs") sit beside the handlers.
    if (f.endsWith(".mjs") && !/-[A-Z0-9]{8}\.mjs$/.test(f)) bundles.push({ name: f.replace(/\.mjs$/, ""), file: join(root, f), root: resolve(dist, asset) });
  }
}

const rows = bundles.sort((a, b) => a.name.localeCompare(b.name)).map(({ name, file, root }) => {
  const samples = Array.from({ length: 5 }, () => importAsOnLambda(file, root, name.replace("/", "-"))).sort((a, b) => a.ms - b.ms);
  const loaded = new Set(samples.map((s) => s.clients.join(" ")));
  if (loaded.size !== 1) throw new Error(`${name}: the samples loaded different SDK clients: ${[...loaded].join(" | ")}`);
  return {
    handler: name,
    bundle_bytes: statSync(file).size,
    // Service ids that only the SDK's own code contains.
    aws_sdk_bundled: /AmazonSQS|DynamoDB_20120810/.test(readFileSync(file, "utf8")),
    aws_sdk_clients_loaded_at_import: samples[0]!.clients.join(", ") || "none",
    cold_import_ms_median: +samples[2]!.ms.toFixed(1),
    cold_import_cpu_ms_median: +samples.map((s) => s.cpuMs).sort((a, b) => a - b)[2]!.toFixed(1),
  };
});
console.table(rows);
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/bundles.json", JSON.stringify({ when: new Date().toISOString(), node: process.version, rows }, null, 2) + "\n");
