import type { SQSClient } from "@aws-sdk/client-sqs";
import type { LocalEngine } from "@flash/local/engine";
import { QueuePoller } from "@flash/local/queue-poller";
import { LOCAL_CREDENTIALS } from "@flash/local/stand-ins";
import { sqsClient } from "@flash/core/adapters/sqs/queue";
import { handler as processor } from "@flash/functions/queue/processor";
import { waitFor } from "./fixtures";

/**
 * Run the real processor handler on an engine's queue, as the event source mapping would (one receive loop, batches
 * of up to 10), until `done` holds; then stop, letting the batch in hand finish. Resolves to the batches handled.
 * For engines started with processorConcurrency 0, whose settlement a test runs when it chooses.
 */
export async function runProcessor(
  engine: Pick<LocalEngine, "resources">,
  done: (poller: QueuePoller) => Promise<boolean>,
  options: { timeoutMs?: number; sqs?: SQSClient } = {},
): Promise<number> {
  const sqs = options.sqs ?? (await sqsClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_SQS: engine.resources.sqsEndpoint, credentials: LOCAL_CREDENTIALS }));
  const poller = new QueuePoller({ sqs, queueUrl: engine.resources.queueUrl, handler: processor, concurrency: 1, batchSize: 10, waitTimeSeconds: 0 }).start();
  try {
    await waitFor(async () => (await done(poller)) || undefined, options.timeoutMs ?? 20_000);
  } finally {
    await poller.stop();
    if (!options.sqs) sqs.destroy();
  }
  return poller.batches;
}
