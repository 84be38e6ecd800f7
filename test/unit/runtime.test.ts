import { expect, it } from "vitest";
import { spawnSync } from "node:child_process";

const importRuntime = (env: Record<string, string>) =>
  spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", `await import("./packages/core/src/runtime/wire.ts"); console.log("imported"); process.exit(0);`], {
    env: { ...process.env, ...env },
    encoding: "utf8",
  });

it("wires at init on Lambda, so a bad configuration fails the init and names the setting", () => {
  const result = importRuntime({ AWS_LAMBDA_FUNCTION_NAME: "buy", RATE_LIMIT_MAX_REQUESTS: "lots" });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toMatch(/invalid configuration: RATE_LIMIT_MAX_REQUESTS/);
});

it("stays lazy elsewhere: importing never reads the configuration", () => {
  const result = importRuntime({ AWS_LAMBDA_FUNCTION_NAME: "", RATE_LIMIT_MAX_REQUESTS: "lots" });
  expect(result.stdout).toContain("imported");
  expect(result.status).toBe(0);
});
