import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { lambdaContext } from "./lambda-context";

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn?: string;
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;
  batchSize?: number;
  /** Like the event source mapping's maximumConcurrency: batches in flight at once. */
  concurrency?: number;
  waitTimeSeconds?: number;
  region?: string;
}

/**
 * Does locally what the SQS event source mapping does on AWS: long-poll, hand batches to the handler,
 * delete what succeeded, and leave reported failures to reappear after the visibility timeout
 * (and to go to the DLQ after maxReceiveCount, by the queue's own redrive policy).
 */
export class QueuePoller {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly abort = new AbortController();
  batches = 0;

  constructor(private readonly options: PollerOptions) {}

  start(): this {
    this.running = true;
    for (let i = 0; i < (this.options.concurrency ?? 2); i++) this.loops.push(this.loop());
    return this;
  }

  /** Stop receiving; batches already handed to the handler finish first. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    const { sqs, queueUrl } = this.options;
    while (this.running) {
      let messages: Message[] = [];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: this.options.batchSize ?? 10,
            WaitTimeSeconds: this.options.waitTimeSeconds ?? 1,
            MessageSystemAttributeNames: ["All"],
            MessageAttributeNames: ["All"],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch {
        if (!this.running) return;
        await new Promise((r) => setTimeout(r, 200)); // queue unreachable: back off, as the mapping does
        continue;
      }
      if (messages.length) await this.deliver(messages);
    }
  }

  private async deliver(messages: Message[]): Promise<void> {
    const { sqs, queueUrl } = this.options;
    const event: SQSEvent = { Records: messages.map((m) => this.toRecord(m)) };
    let failed: Set<string>;
    try {
      const response = await this.options.handler(event, lambdaContext("processor"));
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      failed = new Set(messages.map((m) => m.MessageId!)); // a thrown handler fails the whole batch
    }
    this.batches++;
    const done = messages.filter((m) => !failed.has(m.MessageId!));
    if (done.length) {
      await sqs
        .send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }))
        .catch(() => undefined); // undeleted messages come back; processing is idempotent
    }
  }

  private toRecord(m: Message): SQSRecord {
    const attrs = m.Attributes ?? {};
    return {
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? "",
      attributes: {
        ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? "1",
        SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
        SenderId: attrs.SenderId ?? "local",
        ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
          k,
          { stringValue: v.StringValue, dataType: v.DataType ?? "String", stringListValues: [], binaryListValues: [] },
        ]),
      ),
      md5OfBody: m.MD5OfBody ?? "",
      eventSource: "aws:sqs",
      eventSourceARN: this.options.queueArn ?? "arn:aws:sqs:local:000000000000:orders",
      awsRegion: this.options.region ?? "us-east-1",
    };
  }
}
