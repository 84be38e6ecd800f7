import { Stack, type App } from "sst/constructs";
import { NagSuppressions } from "cdk-nag";
import { getStageConfig, resolveAlarmEmails } from "./config.js";
import { defaultFunctionProps } from "./functions.js";
import { Network } from "./Network.js";
import { Cache } from "./Cache.js";
import { Orders } from "./Orders.js";
import { Kafka } from "./Kafka.js";
import { Api } from "./Api.js";
import { Processor } from "./Processor.js";
import { Monitoring } from "./Monitoring.js";
import { Storefront } from "./Storefront.js";

export { Network, Cache, Orders, Kafka, Api, Processor, Monitoring, Storefront };

/**
 * Registers every stack of the app. Shared by sst.config.ts, scripts/synth.ts and the
 * stack tests so they all synthesize exactly the same thing.
 */
export function registerStacks(app: App): void {
  const config = getStageConfig(app.stage);
  // Fail before building anything when production has no (or a placeholder) alarm email; Monitoring uses the result.
  resolveAlarmEmails(app.stage, config);
  // production/staging: data resources carry an explicit RemovalPolicy.RETAIN and all
  // other resources keep CDK's defaults. Every other stage is ephemeral: everything,
  // data included, is deleted by `sst remove`.
  if (!config.retainData) app.setDefaultRemovalPolicy("destroy");

  app.setDefaultFunctionProps(defaultFunctionProps());

  // The Kafka stack exists on MSK stages only (queue.transport "msk"); the others use useKafka(), which is empty there.
  app.stack(Network).stack(Cache).stack(Orders);
  if (config.queue.transport === "msk") app.stack(Kafka);
  app.stack(Api).stack(Processor).stack(Monitoring);
  if (config.storefront.enabled) app.stack(Storefront);

  // SST adds a custom-resource handler function to every stack (sst/constructs/Stack.js); its runtime, role and
  // settings are SST's, not ours to change.
  for (const stack of app.node.children) {
    if (!(stack instanceof Stack)) continue;
    const handler = stack.customResourceHandler;
    NagSuppressions.addResourceSuppressions(handler.role!, [
      {
        id: "AwsSolutions-IAM4",
        reason: "SST's own custom-resource handler (created by sst/constructs Stack in every stack) uses AWSLambdaBasicExecutionRole for its logs.",
        appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
      },
    ]);
    NagSuppressions.addResourceSuppressions(handler, [
      { id: "AwsSolutions-L1", reason: "SST's own custom-resource handler: SST 2.49.8 pins its runtime (nodejs22.x), not this app." },
      { id: "Serverless-LambdaLatestVersion", reason: "SST's own custom-resource handler: SST 2.49.8 pins its runtime (nodejs22.x), not this app." },
      {
        id: "Serverless-LambdaDLQ",
        reason: "SST's own custom-resource handler, invoked by CloudFormation during deploys: CloudFormation waits for its answer and fails the stack operation without one.",
      },
      { id: "Serverless-LambdaTracing", reason: "SST's own custom-resource handler, run only during deploys; SST does not trace it." },
    ]);
  }
}
