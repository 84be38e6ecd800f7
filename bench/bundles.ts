/**
 * Bundle bytes and cold import time of each Lambda handler, as SST bundles it for the staging stage.
 * Import time is measured in a fresh Node process per sample (what a cold start pays before the handler runs;
 * the Lambda runtime's own init and the SDK load from the runtime are not included). Median of 5.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";

execFileSync(process.execPath, ["--import", "tsx", "scripts/synth.ts", "--stage", "staging"], { stdio: "ignore" });

const dist = ".sst/dist";
const bundles: { name: string; file: string }[] = [];
for (const asset of readdirSync(dist).filter((d) => d.startsWith("asset."))) {
  const root = join(dist, asset, "packages/functions/src");
  if (!existsSync(root)) continue;
  // Handlers sit one folder down (http/, queue/, schedule/): the name is that path, e.g. "http/buy".
  for (const f of readdirSync(root, { recursive: true }) as string[]) {
    if (f.endsWith(".mjs")) bundles.push({ name: f.replace(/\.mjs$/, ""), file: join(root, f) });
  }
}

const probe = (file: string) =>
  `const t=performance.now(); await import(${JSON.stringify("./" + file)}); console.log(performance.now()-t)`;
const rows = bundles.sort((a, b) => a.name.localeCompare(b.name)).map(({ name, file }) => {
  const samples = Array.from({ length: 5 }, () => {
    const out = spawnSync(process.execPath, ["--input-type=module", "-e", probe(file)], { encoding: "utf8", env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } });
    if (out.status !== 0) throw new Error(out.stderr);
    return Number(out.stdout.trim());
  }).sort((a, b) => a - b);
  const source = readFileSync(file, "utf8");
  return {
    handler: name,
    bundle_bytes: statSync(file).size,
    aws_sdk_bundled: /from"@aws-sdk\/|from "@aws-sdk\//.test(source) ? false : /AmazonSQS|DynamoDB_20120810/.test(source),
    cold_import_ms_median: +samples[2]!.toFixed(1),
  };
});
console.table(rows);
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/bundles.json", JSON.stringify({ when: new Date().toISOString(), node: process.version, rows }, null, 2) + "\n");
