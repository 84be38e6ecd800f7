import type { SSTConfig } from "sst";
import { registerStacks } from "./stacks/index.js";

export default {
  config() {
    return {
      name: "flash-sale",
      region: "us-east-1",
    };
  },
  stacks(app) {
    registerStacks(app);
  },
} satisfies SSTConfig;
