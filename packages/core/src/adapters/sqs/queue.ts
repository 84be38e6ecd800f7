import { SQSClient, SendMessageCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { Order } from "../../domain/order";
import type { OrderQueue, Probe } from "../../domain/ports";
import { DependencyUnavailableError } from "../../domain/errors";
import { clientOptions, within, type AwsClientSettings } from "../aws/client";
import { ORDERS_QUEUE } from "../../contract/resources";

/** Client timeouts are explicit: a buy answers 503 quickly rather than hanging on a slow queue. */
export function sqsClient(settings: AwsClientSettings): SQSClient {
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
    try {
      await within(this.timeoutMs, (abortSignal) =>
        this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }), { abortSignal }),
      );
    } catch (err) {
      throw new DependencyUnavailableError("queue", err);
    }
  }

  private async send(queueUrl: string, body: string, attributes: Record<string, ReturnType<typeof text>>) {
    try {
      await within(this.timeoutMs, (abortSignal) =>
        this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }), { abortSignal }),
      );
    } catch (err) {
      throw new DependencyUnavailableError("queue", err);
    }
  }
}
