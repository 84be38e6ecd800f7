import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";

/**
 * Import a function bundle in a fresh Node process as Lambda's init does (a function name in the environment, so the
 * runtime is wired at init), and say how long the import took, in wall-clock time and in CPU time (the process's own,
 * which other work on a busy machine disturbs less), and which AWS SDK clients it loaded. The SDK is
 * CommonJS and external to the bundles: its client packages show among the CommonJS modules loaded, which says what
 * importing the bundle loaded, not what the bundle mentions. The task root is the bundle's asset folder (the Lua
 * scripts beside it); Redis is a port nobody listens on, which init does not wait for (the client connects later).
 */
export function importAsOnLambda(bundle: string, taskRoot: string, functionName: string): { ms: number; cpuMs: number; clients: string[] } {
  const probe = `
import Module from "node:module";
const t = performance.now();
const cpu = process.cpuUsage();
await import(${JSON.stringify(pathToFileURL(bundle).href)});
const ms = performance.now() - t;
const { user, system } = process.cpuUsage(cpu);
const cpuMs = (user + system) / 1000;
const clients = new Set(Object.keys(Module._cache).map((f) => /node_modules\\/@aws-sdk\\/(client-[^/]+)\\//.exec(f)?.[1]).filter(Boolean));
console.log(JSON.stringify({ ms, cpuMs, clients: [...clients].sort() }));
process.exit(0);`;
  const out = spawnSync(process.execPath, ["--input-type=module", "-e", probe], {
    encoding: "utf8",
    env: {
      ...process.env,
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      LAMBDA_TASK_ROOT: taskRoot,
      REDIS_URL: "redis://127.0.0.1:1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  });
  if (out.status !== 0) throw new Error(`importing ${bundle} failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").at(-1)!);
}
