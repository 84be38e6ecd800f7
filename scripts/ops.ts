/**
 * The ops CLI: operate a live sale against the local profile or a deployed stage.
 *   npm run ops -- <command> [options]        (npm run ops -- --help)
 * Everything that touches Redis goes through the IAM-protected admin API (the cache is VPC-only on AWS);
 * the queues are read with your AWS credentials. See docs/operations.md.
 */
import { runOps } from "./ops/cli";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const code = await runOps(process.argv.slice(2), {
  env: process.env,
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  input: process.stdin, // dlq purge's y/N
  prompt: (text) => process.stderr.write(text),
});
process.exit(code);
