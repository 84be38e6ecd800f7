/**
 * Bundle bytes and cold import time of each Lambda handler, as SST bundles it for the staging stage, and which AWS
 * SDK clients importing it loads. Each sample is a fresh Node process importing the bundle as on Lambda (a function
 * name in the environment, so the runtime is wired at init): what a cold start pays before the handler runs, the
 * Lambda runtime's own init not included. Median of 5.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";

execFileSync(process.execPath, ["--import", "tsx", "scripts/synth.ts", "--stage", "staging"], { stdio: "ignore" });

const dist = ".sst/dist";
const bundles: { name: string; file: string; root: string }[] = [];
for (const asset of readdirSync(dist).filter((d) => d.startsWith("asset."))) {
  const root = join(dist, asset, "packages/functions/src");
  if (!existsSync(root)) continue;
  // Handlers sit one folder down (http/, queue/, schedule/): the name is that path, e.g. "http/buy".
  for (const f of readdirSync(root, { recursive: true }) as string[]) {
    if (f.endsWith(".mjs")) bundles.push({ name: f.replace(/\.mjs$/, ""), file: join(root, f), root: resolve(dist, asset) });
  }
}

// After the import, the SDK clients among the CommonJS modules loaded (the SDK is CommonJS, external to the bundle):
// what importing the bundle loaded, not what it mentions.
const probe = (file: string) => `
import Module from "node:module";
const t = performance.now();
await import(${JSON.stringify("./" + file)});
const ms = performance.now() - t;
const clients = new Set(Object.keys(Module._cache).map((f) => /node_modules\\/@aws-sdk\\/(client-[^/]+)\\//.exec(f)?.[1]).filter(Boolean));
console.log(JSON.stringify({ ms, clients: [...clients].sort() }));
process.exit(0);`;

// As on Lambda: the task root is the bundle's folder (the Lua scripts beside it); Redis is a port nobody listens on,
// which init does not wait for (the client connects in the background).
const lambdaEnv = (name: string, root: string) => ({
  ...process.env,
  AWS_LAMBDA_FUNCTION_NAME: name.replace("/", "-"),
  LAMBDA_TASK_ROOT: root,
  REDIS_URL: "redis://127.0.0.1:1",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
});

const rows = bundles.sort((a, b) => a.name.localeCompare(b.name)).map(({ name, file, root }) => {
  const samples = Array.from({ length: 5 }, () => {
    const out = spawnSync(process.execPath, ["--input-type=module", "-e", probe(file)], { encoding: "utf8", env: lambdaEnv(name, root) });
    if (out.status !== 0) throw new Error(out.stderr);
    return JSON.parse(out.stdout.trim().split("\n").at(-1)!) as { ms: number; clients: string[] };
  }).sort((a, b) => a.ms - b.ms);
  const loaded = new Set(samples.map((s) => s.clients.join(" ")));
  if (loaded.size !== 1) throw new Error(`${name}: the samples loaded different SDK clients: ${[...loaded].join(" | ")}`);
  return {
    handler: name,
    bundle_bytes: statSync(file).size,
    // Service ids that only the SDK's own code contains.
    aws_sdk_bundled: /AmazonSQS|DynamoDB_20120810/.test(readFileSync(file, "utf8")),
    aws_sdk_clients_loaded_at_import: samples[0]!.clients.join(", ") || "none",
    cold_import_ms_median: +samples[2]!.ms.toFixed(1),
  };
});
console.table(rows);
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/bundles.json", JSON.stringify({ when: new Date().toISOString(), node: process.version, rows }, null, 2) + "\n");
