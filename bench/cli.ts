/**
 * npm run bench: without arguments, the local bench (bench/run.ts, then bench/bundles.ts), each in its own process
 * as before; with arguments, the same scenarios against a running engine (bench/remote.ts: --url, --stage, --help).
 * One entry point because npm hands `npm run bench -- <args>` to the script's last command only.
 */
import { spawnSync } from "node:child_process";
import { runRemote } from "./remote";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const argv = process.argv.slice(2);

if (argv.length === 0) {
  for (const script of ["bench/run.ts", "bench/bundles.ts"]) {
    const r = spawnSync(process.execPath, ["--import", "tsx", script], { stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}

process.exit(await runRemote(argv, { env: process.env, out: (l) => console.log(l), err: (l) => console.error(l) }));
