/**
 * Offline synth: writes a stage's CloudFormation templates (and bundled function assets)
 * to .sst/dist/ without AWS credentials or network access, then prints the template paths
 * and each function bundle's size.
 *
 *   npm run synth -- --stage staging [--mode deploy|dev] [--out .sst/dist]
 *
 * Unlike `sst build`, it does not call STS (the account is fixed to 123456789012, whose
 * availability zones come from cdk.context.json) and does not need the SST bootstrap
 * stack (NODE_ENV=test makes SST skip the sourcemap uploader, which looks it up).
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const OFFLINE_ACCOUNT = "123456789012";

function usage(message?: string): never {
  if (message) console.error(`error: ${message}`);
  console.error("usage: npm run synth -- --stage <stage> [--mode deploy|dev] [--out <dir>]");
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stage: { type: "string" },
      mode: { type: "string", default: "deploy" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) usage();
  const stage = values.stage ?? process.env.SST_STAGE;
  if (!stage) usage("--stage is required");
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(stage)) usage(`invalid stage name "${stage}"`);
  const mode = values.mode as "deploy" | "dev";
  if (mode !== "deploy" && mode !== "dev") usage(`--mode must be deploy or dev, got "${values.mode}"`);

  // Must be set before SST runs App.finish(): skips the bootstrap-bucket lookup (AWS call)
  // for sourcemap uploads. Nothing else in SST or in our stacks depends on it.
  process.env.NODE_ENV = "test";
  process.env.SST_TELEMETRY_DISABLED = "1";
  process.env.CDK_DISABLE_VERSION_CHECK = "1";
  // SST runs `npm install` (with no dependencies) in every bundle dir: keep npm offline.
  process.env.npm_config_offline = "true";
  process.env.npm_config_audit = "false";
  process.env.npm_config_fund = "false";
  process.env.npm_config_update_notifier = "false";

  const { initProject, useProject } = await import("sst/project.js");
  const { load } = await import("sst/stacks/build.js");
  const { App } = await import("sst/constructs");

  await initProject({ stage });
  const project = useProject();
  const [, sstConfig] = await load(project.paths.config);

  const outdir = path.resolve(values.out ?? path.join(project.paths.out, "dist"));
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.mkdirSync(outdir, { recursive: true });

  const contextFile = path.join(project.paths.root, "cdk.context.json");
  const context = fs.existsSync(contextFile) ? JSON.parse(fs.readFileSync(contextFile, "utf8")) : {};

  const started = Date.now();
  const app = new App(
    {
      mode,
      stage,
      name: project.config.name,
      region: project.config.region,
      account: OFFLINE_ACCOUNT,
    },
    {
      outdir,
      context: { ...context, "aws:cdk:enable-asset-metadata": true },
    },
  );
  await sstConfig.stacks(app);
  await app.finish();
  const assembly = app.synth();

  const missing = assembly.manifest.missing ?? [];
  if (missing.length) {
    throw new Error(
      `missing CDK context (add it to cdk.context.json): ${missing.map((m: { key: string }) => m.key).join(", ")}`,
    );
  }

  console.log(`stage ${stage} (${mode}), account ${OFFLINE_ACCOUNT}, region ${project.config.region}`);
  console.log(`synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s to ${path.relative(process.cwd(), outdir)}`);
  console.log("");
  console.log("templates:");
  for (const stack of assembly.stacks) {
    const resources = Object.keys(stack.template.Resources ?? {}).length;
    console.log(`  ${path.relative(process.cwd(), stack.templateFullPath)}  (${resources} resources)`);
  }

  console.log("");
  console.log("function bundles (bytes):");
  for (const stack of assembly.stacks) {
    const resources: Record<string, any> = stack.template.Resources ?? {};
    for (const [logicalId, resource] of Object.entries(resources)) {
      if (resource.Type !== "AWS::Lambda::Function") continue;
      const handler: string = resource.Properties?.Handler ?? "";
      const assetPath: string | undefined = resource.Metadata?.["aws:asset:path"];
      if (!assetPath || !handler.includes("/")) continue; // SST's own custom-resource handler
      const dir = path.join(outdir, assetPath);
      const bundle = path.join(dir, handler.replace(/\.[^.]+$/, ".mjs"));
      const bundleBytes = fs.existsSync(bundle) ? fs.statSync(bundle).size : -1;
      const assetBytes = dirSize(dir);
      const lua = fs.existsSync(path.join(dir, "lua"))
        ? fs.readdirSync(path.join(dir, "lua")).filter((f) => f.endsWith(".lua")).length
        : 0;
      console.log(
        `  ${stack.stackName}/${logicalId}  ${handler}  bundle=${bundleBytes}  asset=${assetBytes}  lua files=${lua}  ` +
          `(${resource.Properties?.Runtime}, ${resource.Properties?.Architectures?.join(",")})`,
      );
    }
  }
}

function dirSize(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += dirSize(full);
    else if (entry.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
