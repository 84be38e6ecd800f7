import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Order } from "../../domain/order";
import type { OrderQueue, Probe } from "../../domain/ports";
import { DependencyUnavailableError } from "../../domain/errors";
import { clientOptions, within, type AwsClientSettings } from "../aws/client";
import { ORDERS_QUEUE } from "../../contract/resources";

/**
 * The SDK module, loaded by the first client built, not with this module: a static import of the (external) SDK
 * would sit at the top of every function bundle that includes this file, and loading it costs a cold start about
 * 140 ms (docs/benchmarks.md, "Function bundles").
 */
let sdk: Promise<typeof import("@aws-sdk/client-sqs")> | undefined;
const loadSdk = () => (sdk ??= import("@aws-sdk/client-sqs"));

/** Client timeouts are explicit: a buy answers 503 quickly rather than hanging on a slow queue. */
export async function sqsClient(settings: AwsClientSettings): Promise<SQSClient> {
  const { SQSClient } = await loadSdk();
  return new SQSClient({ ...clientOptions(settings, settings.AWS_ENDPOINT_URL_SQS, 2), useQueueUrlAsEndpoint: false });
}

const { correlationAttribute, failureReasonAttribute } = ORDERS_QUEUE;

const text = (value: string) => ({ DataType: "String", StringValue: value });

export class SqsOrderQueue implements OrderQueue, Probe {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly dlqUrl: string,
    private readonly timeoutMs = 3000,
  ) {}

  async enqueue(message: Order.Message, correlationId: string): Promise<void> {
    await this.send(this.queueUrl, JSON.stringify(message), { [correlationAttribute]: text(correlationId) });
  }

  async deadLetter(body: string, reason: string, correlationId?: string): Promise<void> {
    const attributes: Record<string, ReturnType<typeof text>> = { [failureReasonAttribute]: text(reason.slice(0, 1000)) };
    if (correlationId) attributes[correlationAttribute] = text(correlationId);
    await this.send(this.dlqUrl, body, attributes);
  }

  async check(): Promise<void> {
    const { GetQueueAttributesCommand } = await loadSdk();
    try {
      await within(this.timeoutMs, (abortSignal) =>
        this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }), { abortSignal }),
      );
    } catch (err) {
      throw new DependencyUnavailableError("queue", err);
    }
  }

  private async send(queueUrl: string, body: string, attributes: Record<string, ReturnType<typeof text>>) {
    const { SendMessageCommand } = await loadSdk();
    try {
      await within(this.timeoutMs, (abortSignal) =>
        this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }), { abortSignal }),
      );
    } catch (err) {
      throw new DependencyUnavailableError("queue", err);
    }
  }
}
