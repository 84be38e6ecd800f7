import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { parseArgs } from "node:util";
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { sqsClient } from "@flash/core/adapters/sqs/queue";
import { ORDERS_QUEUE } from "@flash/core/contract/resources";
import { pathOf } from "@flash/core/contract/routes";

const { correlationAttribute: CORRELATION_ATTRIBUTE, failureReasonAttribute: FAILURE_REASON_ATTRIBUTE } = ORDERS_QUEUE;
import { SaleReport } from "@flash/core/domain/report";
import type { Reconcile } from "@flash/core/domain/reconcile";
import type { ItemLevels } from "@flash/core/domain/ports";
import type { Order } from "@flash/core/domain/order";
import { call, HttpError, networkFailure, resolveTarget, UnreachableError, UsageError, type KafkaTarget, type Target } from "./target";
import { kafkaDlq, kafkaRedrive } from "./kafka";
import { saleReportSvg } from "./chart";

export const USAGE = `usage: npm run ops -- <command> [options]

commands:
  stock [<item>] [--set <units> [--limit <per-user>] [--starts-at <iso>] [--ends-at <iso>]]
                                                         list items, show one, or load its stock and sale window
  order <request_id>                                     look up an order
  dlq [--max <n>]                                        list dead-lettered messages (they stay in the DLQ)
  dlq purge [--yes]                                      delete one message, the oldest, after showing it and asking
                                                         y/N (--yes: without asking); never more than one
  redrive [--max <n>]                                    move DLQ messages back to the orders queue
                                                         (on Kafka: the dead-letter topic, see docs/kafka.md)
  reconcile [<item>...] [--repair] [--total <units>] [--limit <per-user>]
                                                         compare Redis with the order records; --repair fixes drift,
                                                         --total rebuilds an item whose counters were lost
  report [--out <dir>]                                   sale report: <dir>/sale-report.json and .svg (default reports/),
                                                         and the DLQ's depth
  token <user_id> [--ttl <seconds>]                      a buyer's token from the local profile's dev issuer
                                                         (AUTH_DEV_ISSUER=1); prints the token alone

target (flags win over the environment, the environment over the running local profile):
  --url <api url>          or API_URL
  --token <admin token>    or ADMIN_TOKEN: bearer token for the local profile; without one, admin calls are SigV4-signed
  --stage <stage>          a deployed stage: API and queue URLs from .sst/outputs.json, SigV4 with your AWS credentials
  --queue-url, --dlq-url   or QUEUE_URL, DLQ_URL
  --region                 or AWS_REGION (us-east-1)
  --json                   print raw JSON
Without --url, --stage or API_URL, the CLI reads the running npm start's connection file, .sst/local-profile.json
(or LOCAL_PROFILE_FILE), and ignores it if that npm start is no longer running.
AWS_ENDPOINT_URL_SQS (or AWS_ENDPOINT_URL) points the SQS calls at a stand-in.
QUEUE_TRANSPORT=kafka with KAFKA_BROKERS (KAFKA_TOPIC, KAFKA_DEAD_LETTER_TOPIC, KAFKA_IAM_AUTH) makes dlq and
redrive work on the Kafka dead-letter topic; --stage does so for a stage deployed on MSK.
Exit codes: 0 ok, 1 failed, 2 usage, 3 drift found and not repaired.`;

export interface Io {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  cwd?: string;
  /** Where `dlq purge` reads its y/N answer (stdin); without one, the answer is no. */
  input?: NodeJS.ReadableStream;
  /** Writes the question without a line break; default `err`. */
  prompt?: (text: string) => void;
}

const OPTIONS = {
  url: { type: "string" },
  stage: { type: "string" },
  token: { type: "string" },
  "queue-url": { type: "string" },
  "dlq-url": { type: "string" },
  region: { type: "string" },
  json: { type: "boolean", default: false },
  set: { type: "string" },
  limit: { type: "string" },
  "starts-at": { type: "string" },
  "ends-at": { type: "string" },
  total: { type: "string" },
  repair: { type: "boolean", default: false },
  max: { type: "string" },
  out: { type: "string" },
  ttl: { type: "string" },
  yes: { type: "boolean", short: "y", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

const SEE_HELP = "see npm run ops -- --help";

/**
 * parseArgs takes the `-5` of `--set -5` for an option; a number after an option that wants a value is that value
 * (`--set=-5`), so the command can say what is wrong with it.
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    const next = argv[i + 1];
    if (name && (OPTIONS as Record<string, { type: string }>)[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** parseArgs's messages, in a line each. */
function parseError(err: Error): string {
  const m = err.message;
  let match: RegExpExecArray | null;
  if ((match = /^Unknown option '([^']+)'/.exec(m))) return `unknown option ${match[1]}`;
  if ((match = /^Option '(--[\w-]+)[^']*' argument missing/.exec(m))) return `${match[1]} needs a value`;
  if ((match = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(m))) return `${match[1]} needs a value (to pass one that starts with "-", write ${match[1]}=<value>)`;
  if ((match = /^Option '(--[\w-]+)[^']*' does not take an argument/.exec(m))) return `${match[1]} takes no value`;
  return m.split("\n")[0]!;
}

/** Exit codes: 0 ok, 1 failed, 2 usage, 3 drift found and not repaired. */
export async function runOps(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv), allowPositionals: true, options: OPTIONS });
  } catch (err) {
    io.err(`error: ${parseError(err as Error)}; ${SEE_HELP}`);
    return 2;
  }
  const { values: flags, positionals } = parsed;
  const [command, ...args] = positionals;
  if (flags.help || command === "help") {
    io.out(USAGE);
    return 0;
  }
  if (!command) {
    io.err(USAGE);
    return 2;
  }
  let target: Target | undefined;
  try {
    if (!COMMANDS.has(command)) throw new UsageError(`unknown command "${command}"`);
    target = resolveTarget(flags, io.env, io.cwd, io.err);
    const print = (human: string, data: unknown) => io.out(flags.json ? JSON.stringify(data, null, 2) : human);
    switch (command) {
      case "stock":
        return await stock(target, args, flags, print);
      case "order":
        return await order(target, args, print);
      case "dlq":
        return await dlq(target, args, flags, print, io);
      case "redrive":
        return await redrive(target, flags, print);
      case "reconcile":
        return await reconcile(target, args, flags, print);
      case "report":
        return await report(target, flags, print, io.cwd ?? process.cwd());
      default:
        return await token(target, args, flags, print);
    }
  } catch (err) {
    io.err(`error: ${explainError(err, target)}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

const COMMANDS = new Set(["stock", "order", "dlq", "redrive", "reconcile", "report", "token"]);

/** One line for whatever went wrong; the stack trace only with OPS_DEBUG=1, for a bug in the CLI itself. */
function explainError(err: unknown, target: Target | undefined): string {
  if (err instanceof UsageError) return `${err.message}; ${SEE_HELP}`;
  if (err instanceof HttpError || err instanceof UnreachableError) return err.message;
  const network = networkFailure(err);
  if (network) {
    const where = target?.sqsEndpoint ? `the queues at ${target.sqsEndpoint}` : `SQS in ${target?.region ?? "your region"}`;
    return `could not reach ${where} (${network}): ${target?.unreachableHint ?? "check the queue URLs"}`;
  }
  const e = err as Error;
  // A bug in the CLI: where it happened is what a report of it needs.
  if (process.env.OPS_DEBUG === "1" || [TypeError, ReferenceError, RangeError, SyntaxError].some((k) => err instanceof k)) return e?.stack ?? String(err);
  const name = e?.name && e.name !== "Error" ? ` (${e.name})` : "";
  return `${e?.message ?? String(err)}${name}`;
}

type Print = (human: string, data: unknown) => void;
type Flags = Record<string, string | boolean | undefined>;

const int = (value: string | boolean | undefined, name: string, min = 0): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
  return n;
};

const levelsLine = (l: Partial<ItemLevels> & { item_id: string }) =>
  `${l.item_id.padEnd(20)} stock ${String(l.stock ?? "?").padStart(7)}  in flight ${String(l.in_flight ?? "?").padStart(6)}  sold ${String(l.sold ?? "?").padStart(7)}  per-user limit ${l.per_user_limit ?? "?"}` +
  (l.starts_at || l.ends_at ? `  sale ${l.starts_at ?? "now"} .. ${l.ends_at ?? "open"}` : "");

async function stock(target: Target, args: string[], flags: Flags, print: Print): Promise<number> {
  const [item] = args;
  if (!item) {
    const { items } = await call<{ items: (Partial<ItemLevels> & { item_id: string })[] }>(target, "GET", pathOf("listItems"));
    print(items.length ? items.map(levelsLine).join("\n") : "no items loaded", items);
    return 0;
  }
  const path = pathOf("getItem", { item_id: item });
  if (flags.set !== undefined) {
    const body = {
      stock: int(flags.set, "set")!,
      ...(flags.limit !== undefined ? { per_user_limit: int(flags.limit, "limit", 1) } : {}),
      ...(typeof flags["starts-at"] === "string" ? { starts_at: flags["starts-at"] } : {}),
      ...(typeof flags["ends-at"] === "string" ? { ends_at: flags["ends-at"] } : {}),
    };
    const levels = await call<ItemLevels>(target, "PUT", path, body);
    print(`loaded: ${levelsLine(levels)}`, levels);
    return 0;
  }
  const levels = await call<ItemLevels>(target, "GET", path);
  print(levelsLine(levels), levels);
  return 0;
}

async function order(target: Target, args: string[], print: Print): Promise<number> {
  const [requestId] = args;
  if (!requestId) throw new UsageError("order needs a request_id");
  try {
    const record = await call<Order.Record>(target, "GET", pathOf("order", { request_id: requestId }), undefined, false);
    const lines = [
      `${record.request_id}: ${record.status}${record.reason ? ` (${record.reason})` : ""}`,
      `  item ${record.item_id}  user ${record.user_id}  amount ${record.amount}`,
      `  accepted ${record.created_at}  updated ${record.updated_at}`,
    ];
    print(lines.join("\n"), record);
    return 0;
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) {
      print(`${requestId}: not found (never accepted, or its idempotency record expired)`, err.body);
      return 1;
    }
    if (err instanceof HttpError && err.status === 401) {
      throw new HttpError(401, "GET /orders/{request_id} needs its buyer's token while buyer identity is on (see README, Buyer identity)");
    }
    throw err;
  }
}

interface DeadLetter {
  message_id: string;
  request_id?: string;
  item_id?: string;
  user_id?: string;
  correlation_id?: string;
  failure_reason: string;
  receive_count: number;
  sent_at?: string;
  body: string;
}

const sqsFor = (target: Target) =>
  sqsClient({ AWS_REGION: target.region, AWS_ENDPOINT_URL_SQS: target.sqsEndpoint, ...(target.sqsCredentials ? { credentials: target.sqsCredentials } : {}) });

function needQueues(target: Target): { queueUrl: string; dlqUrl: string } {
  if (!target.queueUrl || !target.dlqUrl) throw new UsageError("queue URLs unknown: pass --queue-url/--dlq-url, set QUEUE_URL/DLQ_URL, or pass --stage");
  return { queueUrl: target.queueUrl, dlqUrl: target.dlqUrl };
}

/**
 * Receive up to `max` distinct messages, hidden meanwhile so each is seen once. The caller either deletes them
 * (redrive) or makes them visible again (dlq), so listing consumes nothing.
 */
async function receiveAll(sqs: SQSClient, queueUrl: string, max: number): Promise<Message[]> {
  const seen = new Map<string, Message>();
  while (seen.size < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - seen.size),
        VisibilityTimeout: 60,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    const fresh = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId!));
    if (!fresh.length) break;
    for (const m of fresh) seen.set(m.MessageId!, m);
  }
  return [...seen.values()];
}

const chunks = <T,>(xs: T[], n = 10) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

function describe(m: Message): DeadLetter {
  let order: Partial<Order.Message> = {};
  try {
    order = JSON.parse(m.Body ?? "");
  } catch {
    // unparseable: the failure reason says so
  }
  const attr = (name: string) => m.MessageAttributes?.[name]?.StringValue;
  const sent = m.Attributes?.SentTimestamp;
  return {
    message_id: m.MessageId!,
    ...(typeof order.request_id === "string" ? { request_id: order.request_id } : {}),
    ...(typeof order.item_id === "string" ? { item_id: order.item_id } : {}),
    ...(typeof order.user_id === "string" ? { user_id: order.user_id } : {}),
    ...(attr(CORRELATION_ATTRIBUTE) ? { correlation_id: attr(CORRELATION_ATTRIBUTE) } : {}),
    // Without the attribute the queue's redrive policy moved it: every processing attempt failed.
    failure_reason: attr(FAILURE_REASON_ATTRIBUTE) ?? "exceeded maxReceiveCount",
    receive_count: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    ...(sent ? { sent_at: new Date(Number(sent)).toISOString() } : {}),
    body: m.Body ?? "",
  };
}

const onKafka = (target: Target): target is Target & { kafka: KafkaTarget } => target.kafka !== undefined;

const letterLine = (d: DeadLetter) =>
  `${d.request_id ?? "(unparseable)"}  item ${d.item_id ?? "-"}  correlation ${d.correlation_id ?? "-"}  receives ${d.receive_count}` +
  `${d.sent_at ? `  sent ${d.sent_at}` : ""}\n    reason: ${d.failure_reason}`;

/** Make received messages visible again at once. */
async function release(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  for (const batch of chunks(messages)) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
  }
}

async function dlq(target: Target, args: string[], flags: Flags, print: Print, io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "purge") {
    if (onKafka(target)) throw new UsageError("dlq purge works on the SQS DLQ; a Kafka dead-letter topic keeps its records (redrive them, or let retention expire them)");
    if (rest.length) throw new UsageError("dlq purge deletes one message, the oldest, and takes no names");
    return purge(target, flags, print, io);
  }
  if (sub !== undefined) throw new UsageError(`unknown dlq command "${sub}" (dlq lists, dlq purge deletes the oldest message)`);
  if (onKafka(target)) return kafkaDlq(target, int(flags.max, "max", 1) ?? 1000, print);
  const { dlqUrl } = needQueues(target);
  const sqs = await sqsFor(target);
  try {
    const messages = await receiveAll(sqs, dlqUrl, int(flags.max, "max", 1) ?? 1000);
    // Visible again at once: listing must not hide them from a redrive or from the next look.
    await release(sqs, dlqUrl, messages);
    const letters = messages.map(describe);
    print(letters.length ? `${letters.length} message(s) in the DLQ:\n${letters.map(letterLine).join("\n")}` : "the DLQ is empty", letters);
    return 0;
  } finally {
    sqs.destroy();
  }
}

/** How long the message shown stays hidden while the operator decides (made visible again on no). */
const PURGE_HOLD_SECONDS = 300;

/**
 * Delete exactly one DLQ message: the oldest of those received (by the time it was dead-lettered), shown first with its
 * reason, after a y/N answer (or --yes). The others are made visible again before the question; never a PurgeQueue.
 */
async function purge(target: Target, flags: Flags, print: Print, io: Io): Promise<number> {
  const { dlqUrl } = needQueues(target);
  const sqs = await sqsFor(target);
  try {
    const messages = await receiveAll(sqs, dlqUrl, 1000);
    if (!messages.length) {
      print("the DLQ is empty: nothing to delete", { deleted: null, left: 0 });
      return 0;
    }
    const sent = (m: Message) => Number(m.Attributes?.SentTimestamp ?? Infinity);
    const [oldest, ...others] = [...messages].sort((a, b) => sent(a) - sent(b));
    await release(sqs, dlqUrl, others);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: dlqUrl, ReceiptHandle: oldest!.ReceiptHandle!, VisibilityTimeout: PURGE_HOLD_SECONDS }));
    const letter = describe(oldest!);
    const shown = `oldest of ${messages.length} message(s) in the DLQ:\n${letterLine(letter)}`;
    let yes = flags.yes === true;
    if (!yes) {
      io.err(shown);
      const answer = await ask(io, "delete this message from the DLQ for good? [y/N] ");
      yes = /^y(es)?$/i.test(answer?.trim() ?? "");
      if (!yes) {
        await release(sqs, dlqUrl, [oldest!]);
        print(`nothing deleted${answer === undefined ? " (no answer; --yes deletes without asking)" : ""}`, { deleted: null, left: messages.length });
        return 1;
      }
    }
    await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: oldest!.ReceiptHandle! }));
    print(`deleted 1 message from the DLQ (${messages.length - 1} left):\n${letterLine(letter)}`, { deleted: letter, left: messages.length - 1 });
    return 0;
  } finally {
    sqs.destroy();
  }
}

/** One line from the input; undefined when there is none (no input, or it ended first). */
async function ask(io: Io, question: string): Promise<string | undefined> {
  (io.prompt ?? io.err)(question);
  if (!io.input) return undefined;
  const rl = readline.createInterface({ input: io.input, terminal: false });
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(undefined));
    });
    // A terminal echoed the answer; from a pipe, echo it, so the transcript reads as a dialogue.
    if (!(io.input as { isTTY?: boolean }).isTTY) io.err(answer ?? "");
    return answer;
  } finally {
    rl.close();
  }
}

async function redrive(target: Target, flags: Flags, print: Print): Promise<number> {
  if (onKafka(target)) return kafkaRedrive(target, int(flags.max, "max", 1) ?? 10_000, print);
  const { queueUrl, dlqUrl } = needQueues(target);
  const sqs = await sqsFor(target);
  try {
    if (!target.sqsEndpoint) {
      // On AWS, SQS moves them itself (and keeps going while we are gone).
      const arn = async (url: string) =>
        (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
      const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: await arn(dlqUrl), DestinationArn: await arn(queueUrl) }));
      print(`message move task started: ${task.TaskHandle} (aws sqs list-message-move-tasks --source-arn <dlq arn> shows progress)`, task);
      return 0;
    }
    // A stand-in without StartMessageMoveTask: receive, send to the queue, then delete. A crash in between leaves a
    // copy in both queues; that is safe, because processing an order twice settles it once.
    const messages = await receiveAll(sqs, dlqUrl, int(flags.max, "max", 1) ?? 10_000);
    let moved = 0;
    for (const batch of chunks(messages)) {
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((m, i) => ({
            Id: String(i),
            MessageBody: m.Body!,
            // The failure reason described the last attempt; a redriven message starts afresh.
            MessageAttributes: Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).filter(([k]) => k !== FAILURE_REASON_ATTRIBUTE)),
          })),
        }),
      );
      const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
      const done = batch.filter((_, i) => ok.has(String(i)));
      if (done.length) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
      moved += done.length;
    }
    print(`redrove ${moved} message(s) to the orders queue`, { moved, request_ids: messages.map((m) => describe(m).request_id) });
    return moved === messages.length ? 0 : 1;
  } finally {
    sqs.destroy();
  }
}

async function reconcile(target: Target, args: string[], flags: Flags, print: Print): Promise<number> {
  const items = args.length ? args : (await call<{ items: { item_id: string }[] }>(target, "GET", pathOf("listItems"))).items.map((i) => i.item_id);
  if (!items.length) throw new UsageError("no items registered in Redis (cache lost?): name them, e.g. reconcile sku-1 --repair --total 100");
  const total = int(flags.total, "total");
  const limit = int(flags.limit, "limit", 1);
  if (total !== undefined && items.length > 1) throw new UsageError("--total applies to one item; reconcile items one at a time");
  const body = { repair: flags.repair === true, ...(total !== undefined ? { total } : {}), ...(limit !== undefined ? { per_user_limit: limit } : {}) };
  const reports: Reconcile.Report[] = [];
  const lines: string[] = [];
  for (const item of items) {
    const r = await call<Reconcile.Report>(target, "POST", pathOf("reconcile", { item_id: item }), body);
    reports.push(r);
    lines.push(`${r.item_id}: ${r.status} (${r.orders} recorded orders)`);
    for (const d of r.drift) lines.push(`  ${d.field.padEnd(10)} redis ${String(d.current ?? "missing").padStart(8)}   orders say ${String(d.expected).padStart(8)}`);
    for (const u of r.users_drift.slice(0, 10)) lines.push(`  user ${u.user_id}: redis ${u.current}, orders say ${u.expected}`);
    if (r.users_drift.length > 10) lines.push(`  ... ${r.users_drift.length - 10} more users`);
    if (r.ledger_missing || r.ledger_mismatch) lines.push(`  ledger: ${r.ledger_missing} entries missing, ${r.ledger_mismatch} disagree with the order records`);
    if (r.stale_holds.length) lines.push(`  ${r.stale_holds.length} hold(s) of orders already final: ${r.stale_holds.slice(0, 5).join(", ")}`);
    if (r.repaired) lines.push(`  repaired: ${levelsLine(r.repaired)}`);
    if (r.oversold) lines.push(`  WARNING: ${r.oversold} unit(s) sold beyond the total on sale; stock set to 0`);
  }
  const drifted = reports.some((r) => r.status === "drift");
  if (drifted) lines.push("drift found: run again with --repair to fix it");
  print(lines.join("\n"), reports);
  return drifted ? 3 : 0;
}

/** The dev issuer's route in the local profile (packages/local/src/dev-issuer.ts); the deployed API has none. */
const DEV_TOKEN_PATH = "/.well-known/dev-token";

async function token(target: Target, args: string[], flags: Flags, print: Print): Promise<number> {
  const [userId] = args;
  if (!userId) throw new UsageError("token needs a user_id");
  if (!target.adminToken) {
    throw new UsageError("token asks the local profile's dev issuer (npm start with AUTH_DEV_ISSUER=1, ADMIN_TOKEN set); a deployed stage's tokens come from its identity provider");
  }
  const ttl = int(flags.ttl, "ttl", 1);
  try {
    const issued = await call<{ token: string }>(target, "POST", DEV_TOKEN_PATH, { user_id: userId, ...(ttl !== undefined ? { ttl_seconds: ttl } : {}) });
    print(issued.token, issued);
    return 0;
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) {
      throw new HttpError(404, `${target.url} has no dev issuer: start the local profile with AUTH_DEV_ISSUER=1`);
    }
    throw err;
  }
}

/** The DLQ's ApproximateNumberOfMessages, or why it is not known; the report goes on either way. */
async function dlqDepth(target: Target): Promise<{ depth: number } | { unknown: string }> {
  if (!target.dlqUrl) return { unknown: "no DLQ URL (--dlq-url, DLQ_URL or --stage)" };
  let sqs: SQSClient | undefined;
  try {
    sqs = await sqsFor(target);
    const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: target.dlqUrl, AttributeNames: ["ApproximateNumberOfMessages"] }));
    return { depth: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) };
  } catch (err) {
    const network = networkFailure(err);
    return { unknown: network ? `could not reach ${target.sqsEndpoint ?? "SQS"} (${network})` : (err as Error).message };
  } finally {
    sqs?.destroy();
  }
}

async function report(target: Target, flags: Flags, print: Print, cwd: string): Promise<number> {
  const { items } = await call<{ items: { item_id: string }[] }>(target, "GET", pathOf("listItems"));
  const perItem: SaleReport.ItemReport[] = [];
  for (const { item_id } of items) perItem.push(await call<SaleReport.ItemReport>(target, "GET", pathOf("report", { item_id })));
  const dead = await dlqDepth(target);
  const result = {
    ...SaleReport.combine(perItem),
    dlq: "depth" in dead ? { depth: dead.depth } : { depth: null, unknown: dead.unknown },
  };
  const dir = path.resolve(cwd, typeof flags.out === "string" ? flags.out : "reports");
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, "sale-report.json");
  const svg = path.join(dir, "sale-report.svg");
  fs.writeFileSync(json, JSON.stringify(result, null, 2) + "\n");
  fs.writeFileSync(svg, saleReportSvg(result));
  const t = result.totals;
  const rejected = Object.entries(t.rejected).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  print(
    [
      `${perItem.length} item(s): ${t.units_sold} units sold in ${t.orders.COMPLETED} orders`,
      `failed: ${Object.entries(t.orders).filter(([s]) => s !== "COMPLETED").map(([s, n]) => `${s} ${n}`).join(", ")}`,
      `rejected: ${rejected}`,
      "depth" in dead
        ? `DLQ: ${dead.depth ? `${dead.depth} message(s) waiting (npm run ops -- dlq lists them)` : "empty"}`
        : `DLQ: depth unknown: ${dead.unknown}`,
      `wrote ${json}`,
      `wrote ${svg}`,
    ].join("\n"),
    { ...result, files: { json, svg } },
  );
  return 0;
}
