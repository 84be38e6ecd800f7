import { describe, expect, it } from "vitest";
import { synth } from "./synth.js";

// Failing synths, in their own file (and process): the refusal comes from registerStacks, before any stack is built.
describe("alarm email subscribers at synth time", () => {
  it("refuses to synthesize production without any, naming the setting", async () => {
    await expect(synth("production", "deploy", { ALARM_EMAILS: undefined })).rejects.toThrow(
      /invalid alarm emails for "production": no alarm email subscribers: set ALARM_EMAILS=.*alarms\.emails in stacks\/config\.ts/,
    );
  });

  it("refuses to synthesize production with a placeholder address", async () => {
    await expect(synth("production", "deploy", { ALARM_EMAILS: "oncall@example.com" })).rejects.toThrow(
      /ALARM_EMAILS: "oncall@example.com" is a placeholder address/,
    );
  });

  it("synthesizes another stage with none", async () => {
    const s = await synth("pr-7", "deploy", { ALARM_EMAILS: undefined });
    try {
      expect(s.resources("AWS::SNS::Topic")).toHaveLength(1);
      expect(s.resources("AWS::SNS::Subscription")).toHaveLength(0);
    } finally {
      (await import("node:fs")).rmSync(s.outdir, { recursive: true, force: true });
    }
  }, 120_000);
});
