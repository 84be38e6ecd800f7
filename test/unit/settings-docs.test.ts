import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SETTING_NAMES } from "@flash/core/contract/environment";

// Every setting in contract/environment.ts is where a user looks for it: .env.example and the README.
describe("settings documentation", () => {
  const envExample = readFileSync(".env.example", "utf8");
  const readme = readFileSync("README.md", "utf8");

  it("lists every setting in .env.example", () => {
    expect(SETTING_NAMES.filter((name) => !new RegExp(`^# ${name}=`, "m").test(envExample))).toEqual([]);
  });

  it("explains every setting in the README", () => {
    expect(SETTING_NAMES.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});
