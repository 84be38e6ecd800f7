/**
 * Offline synth for the stack tests: the real sst.config.ts, bundled functions, no AWS.
 *
 * Needs NODE_ENV=test (vitest sets it) so SST skips its bootstrap lookup, and runs
 * `app.finish()` so functions are bundled (esbuild + copyFiles) and removal policies applied.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Aspects } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { App } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { load } from "sst/stacks/build.js";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type Resource = { Type: string; Properties?: any; Metadata?: any; DeletionPolicy?: string; UpdateReplacePolicy?: string };
export type TemplateJson = { Resources: Record<string, Resource>; Outputs?: Record<string, any> };

/** One unsuppressed cdk-nag finding: a stack annotation added by AwsSolutionsChecks or ServerlessChecks. */
export interface NagFinding {
  level: "error" | "warning";
  stack: string;
  /** Construct path, e.g. /staging-flash-sale-Api/Buy/Resource */
  path: string;
  /** e.g. AwsSolutions-IAM4 or Serverless-LambdaDLQ (with [appliesTo] when the rule has granular findings) */
  rule: string;
  message: string;
}

export interface SynthStack {
  name: string;
  template: Template;
  json: TemplateJson;
}

export interface Synth {
  stage: string;
  mode: "deploy" | "dev";
  outdir: string;
  /** By short name: Network, Cache, Orders, Api, Processor, Monitoring. */
  stacks: Record<string, SynthStack>;
  /** Every resource of every stack, with its stack's short name. */
  resources(type?: string): Array<{ stack: string; id: string; resource: Resource }>;
  /** The app's Lambda functions (handler under packages/functions), by logical id. */
  functions(): Array<{ stack: string; id: string; resource: Resource }>;
  /** The synthesized asset directory of a function. */
  assetDir(resource: Resource): string;
  /** Unsuppressed cdk-nag findings (errors and warnings); empty unless synthesized with `{ nag: true }`. */
  nag: NagFinding[];
}

export interface SynthOptions {
  /** Apply cdk-nag's AwsSolutionsChecks and ServerlessChecks to the app before it is finished. */
  nag?: boolean;
}

// npm is run by SST in every bundle dir (with no dependencies); keep it off the network.
function offlineNpm() {
  process.env.npm_config_offline = "true";
  process.env.npm_config_audit = "false";
  process.env.npm_config_fund = "false";
  process.env.npm_config_update_notifier = "false";
}

/**
 * Synthesize one stage. `env` is applied for the duration of the synth, after SST has loaded
 * any .env files (undefined deletes a variable), and restored afterwards.
 */
export async function synth(
  stage: string,
  mode: "deploy" | "dev" = "deploy",
  env: Record<string, string | undefined> = {},
  options: SynthOptions = {},
): Promise<Synth> {
  if (process.env.NODE_ENV !== "test") throw new Error("stack tests need NODE_ENV=test (set by vitest)");
  offlineNpm();
  const cwd = process.cwd();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  // SST resolves sst.config.ts and writes its bundled copy relative to the cwd.
  // (chdir only when needed: it is not allowed in worker threads.)
  if (cwd !== ROOT) process.chdir(ROOT);
  try {
    await initProject({ stage });
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const project = useProject();
    const [, config] = await load(project.paths.config);
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `flash-sale-${stage}-${mode}-`));
    const context = JSON.parse(fs.readFileSync(path.join(ROOT, "cdk.context.json"), "utf8"));
    const app = new App(
      { mode, stage, name: project.config.name, region: project.config.region, account: ACCOUNT },
      { outdir, context: { ...context, "aws:cdk:enable-asset-metadata": true } },
    );
    let assembly;
    try {
      await config.stacks(app);
      if (options.nag) {
        // Findings come back as stack annotations (errors and warnings) when the app is synthesized.
        Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true, reports: false }));
        Aspects.of(app).add(new ServerlessChecks({ verbose: true, reports: false }));
      }
      await app.finish();
      assembly = app.synth();
    } catch (error) {
      fs.rmSync(outdir, { recursive: true, force: true });
      throw error;
    }
    if (assembly.manifest.missing?.length) {
      throw new Error(`missing context: ${assembly.manifest.missing.map((m) => m.key).join(", ")}`);
    }

    const nag = nagFindings(assembly);

    const prefix = `${stage}-${project.config.name}-`;
    const stacks: Record<string, SynthStack> = {};
    for (const stack of assembly.stacks) {
      const short = stack.stackName.startsWith(prefix) ? stack.stackName.slice(prefix.length) : stack.stackName;
      stacks[short] = { name: stack.stackName, json: stack.template, template: Template.fromJSON(stack.template) };
    }

    const resources = (type?: string) =>
      Object.entries(stacks).flatMap(([stack, s]) =>
        Object.entries(s.json.Resources ?? {})
          .filter(([, r]) => !type || r.Type === type)
          .map(([id, resource]) => ({ stack, id, resource })),
      );

    return {
      stage,
      mode,
      outdir,
      nag,
      stacks,
      resources,
      functions: () =>
        resources("AWS::Lambda::Function").filter(
          (f) => f.resource.Properties?.Environment?.Variables?.POWERTOOLS_METRICS_NAMESPACE !== undefined,
        ),
      assetDir: (resource: Resource) => {
        const assetPath = resource.Metadata?.["aws:asset:path"];
        if (!assetPath) throw new Error("function has no aws:asset:path metadata");
        return path.join(outdir, assetPath);
      },
    };
  } finally {
    if (process.cwd() !== cwd) process.chdir(cwd);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** The cdk-nag findings (errors and warnings) among the annotations of a synthesized assembly's stacks. */
export function nagFindings(assembly: CloudAssembly): NagFinding[] {
  const findings: NagFinding[] = [];
  for (const stack of assembly.stacks) {
    for (const m of stack.messages) {
      if (m.level !== "error" && m.level !== "warning") continue;
      const message = String(m.entry.data);
      const rule = message.match(/^((?:AwsSolutions|Serverless)-[A-Za-z0-9]+(?:\[[^\]]*\])?):/)?.[1];
      if (!rule) continue;
      findings.push({ level: m.level, stack: stack.stackName, path: m.id, rule, message: message.split("\n")[0]! });
    }
  }
  return findings;
}

/** Resolve a CloudFormation value to a flat string for substring checks. */
export const flat = (value: unknown) => JSON.stringify(value);

/** Logical id of a resource in a cross-stack or same-stack reference, if any. */
export function refersTo(value: unknown, logicalId: string): boolean {
  return flat(value).includes(logicalId);
}

/**
 * All policy statements of all stacks, with where they come from: identity policies (IAM
 * policies, managed policies, role inline policies, role trust policies) and resource
 * policies (queue, topic, ...), i.e. every PolicyDocument / AssumeRolePolicyDocument.
 */
export function allStatements(s: Synth) {
  const out: Array<{ stack: string; id: string; type: string; statement: any }> = [];
  const visit = (node: unknown, stack: string, id: string, type: string) => {
    if (!node || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if ((key === "PolicyDocument" || key === "AssumeRolePolicyDocument") && value && typeof value === "object") {
        for (const statement of asArray((value as any).Statement)) out.push({ stack, id, type, statement });
      } else {
        visit(value, stack, id, type);
      }
    }
  };
  for (const { stack, id, resource } of s.resources()) visit(resource.Properties, stack, id, resource.Type);
  return out;
}

export const asArray = <T,>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
