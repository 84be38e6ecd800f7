import type { App } from "sst/constructs";
import { getStageConfig } from "./config.js";
import { defaultFunctionProps } from "./functions.js";
import { Network } from "./Network.js";
import { Cache } from "./Cache.js";
import { Orders } from "./Orders.js";
import { Api } from "./Api.js";
import { Processor } from "./Processor.js";
import { Monitoring } from "./Monitoring.js";

export { Network, Cache, Orders, Api, Processor, Monitoring };

/**
 * Registers every stack of the app. Shared by sst.config.ts, scripts/synth.ts and the
 * stack tests so they all synthesize exactly the same thing.
 */
export function registerStacks(app: App): void {
  const config = getStageConfig(app.stage);
  // production/staging: data resources carry an explicit RemovalPolicy.RETAIN and all
  // other resources keep CDK's defaults. Every other stage is ephemeral: everything,
  // data included, is deleted by `sst remove`.
  if (!config.retainData) app.setDefaultRemovalPolicy("destroy");

  app.setDefaultFunctionProps(defaultFunctionProps());

  app.stack(Network).stack(Cache).stack(Orders).stack(Api).stack(Processor).stack(Monitoring);
}
