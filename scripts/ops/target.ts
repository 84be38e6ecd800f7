import fs from "node:fs";
import path from "node:path";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

/**
 * Where the ops CLI points: the HTTP API (admin routes), the queues, the region, and how to authenticate.
 * Flags win over the environment; `--stage <stage>` fills the gaps from .sst/outputs.json of a deployed stage.
 */
export interface Target {
  url: string;
  queueUrl?: string;
  dlqUrl?: string;
  region: string;
  /** Set: a local profile (bearer token). Unset: SigV4 with the default AWS credential chain. */
  adminToken?: string;
  /** The SQS endpoint of a stand-in (fauxqs, LocalStack); unset on AWS. */
  sqsEndpoint?: string;
  /** Set when the orders travel on Kafka (QUEUE_TRANSPORT=kafka, or a stage deployed with queue.transport "msk"). */
  kafka?: KafkaTarget;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

export interface KafkaTarget {
  brokers: string;
  topic: string;
  deadLetterTopic: string;
  /** MSK: TLS and SASL AWS_MSK_IAM, signed with your AWS credentials. */
  iam: boolean;
}

export interface TargetFlags {
  url?: string;
  stage?: string;
  token?: string;
  "queue-url"?: string;
  "dlq-url"?: string;
  region?: string;
}

export function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv, cwd = process.cwd()): Target {
  const outputs = flags.stage ? stageOutputs(flags.stage, cwd) : {};
  const url = flags.url ?? outputs.ApiUrl ?? env.API_URL;
  if (!url) throw new UsageError("no API URL: pass --url, set API_URL, or pass --stage <stage> after a deploy (.sst/outputs.json)");
  return {
    url: url.replace(/\/+$/, ""),
    queueUrl: flags["queue-url"] ?? outputs.QueueUrl ?? env.QUEUE_URL,
    dlqUrl: flags["dlq-url"] ?? outputs.DlqUrl ?? env.DLQ_URL,
    region: flags.region ?? env.AWS_REGION ?? "us-east-1",
    adminToken: flags.token ?? (flags.stage ? undefined : env.ADMIN_TOKEN),
    sqsEndpoint: env.AWS_ENDPOINT_URL_SQS ?? env.AWS_ENDPOINT_URL,
    kafka: kafkaTarget(outputs, env, Boolean(flags.stage)),
  };
}

/** The Kafka transport's brokers and topics: a stage's outputs (MSK), else QUEUE_TRANSPORT=kafka and KAFKA_* (npm start). */
function kafkaTarget(outputs: Record<string, string>, env: NodeJS.ProcessEnv, stage: boolean): KafkaTarget | undefined {
  const brokers = outputs.KafkaBootstrapBrokers ?? (env.QUEUE_TRANSPORT === "kafka" ? env.KAFKA_BROKERS : undefined);
  if (stage && !outputs.KafkaBootstrapBrokers) return undefined; // an SQS stage
  if (!brokers) {
    if (env.QUEUE_TRANSPORT === "kafka") throw new UsageError("QUEUE_TRANSPORT=kafka needs KAFKA_BROKERS=host:port");
    return undefined;
  }
  return {
    brokers,
    topic: outputs.OrdersTopic ?? env.KAFKA_TOPIC ?? "orders",
    deadLetterTopic: outputs.DeadLetterTopic ?? env.KAFKA_DEAD_LETTER_TOPIC ?? "orders-dlt",
    iam: stage || env.KAFKA_IAM_AUTH === "true",
  };
}

/** The stacks' outputs (ApiUrl, QueueUrl, DlqUrl, ...) of one stage, merged across its stacks. */
function stageOutputs(stage: string, cwd: string): Record<string, string> {
  const file = path.join(cwd, ".sst", "outputs.json");
  if (!fs.existsSync(file)) throw new UsageError(`--stage ${stage}: ${file} not found (it is written by sst deploy)`);
  const all = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, Record<string, string>>;
  const mine = Object.entries(all).filter(([stack]) => stack.startsWith(`${stage}-`));
  if (!mine.length) throw new UsageError(`--stage ${stage}: no stacks of that stage in ${file}`);
  return Object.assign({}, ...mine.map(([, outputs]) => outputs));
}

export class UsageError extends Error {
  override name = "UsageError";
}

export class HttpError extends Error {
  override name = "HttpError";
  constructor(readonly status: number, readonly body: unknown) {
    super(`HTTP ${status}: ${typeof body === "string" ? body : JSON.stringify(body)}`);
  }
}

/** Sign a request for API Gateway's AWS_IAM authorizer (service execute-api). */
export async function signRequest(
  url: URL,
  method: string,
  body: string | undefined,
  region: string,
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider,
  signingDate?: Date,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: "execute-api", region, credentials, sha256: Sha256 });
  const headers: Record<string, string> = { host: url.host };
  if (body !== undefined) headers["content-type"] = "application/json";
  const signed = await signer.sign(
    {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
    },
    signingDate ? { signingDate } : {},
  );
  return signed.headers as Record<string, string>;
}

/** Call the API: admin routes with the bearer token locally or SigV4 on AWS; public routes as they are. */
export async function call<T>(target: Target, method: string, route: string, payload?: unknown, admin = true): Promise<T> {
  const url = new URL(target.url + route);
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  let headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" };
  if (admin && target.adminToken) headers.authorization = `Bearer ${target.adminToken}`;
  else if (admin) headers = await signRequest(url, method, body, target.region, target.credentials ?? defaultProvider());
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  if (!res.ok) throw new HttpError(res.status, parsed);
  return parsed as T;
}
