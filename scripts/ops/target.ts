import fs from "node:fs";
import path from "node:path";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { profileFile, readProfile } from "./profile";

/**
 * Where the ops CLI points: the HTTP API (admin routes), the queues, the region, and how to authenticate.
 * Flags win over the environment; `--stage <stage>` fills the gaps from .sst/outputs.json of a deployed stage.
 * With none of --url, --stage or API_URL, the running local profile's connection file (profile.ts) fills them.
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
  /** For the SQS calls: the stand-ins' credentials from the local profile's file; unset, the default chain. */
  sqsCredentials?: { accessKeyId: string; secretAccessKey: string };
  /** Where the target came from, said when it cannot be reached. */
  source: "flags" | "env" | "stage" | "profile";
  /** What to check when the API does not answer. */
  unreachableHint: string;
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

const NOT_RUNNING = "is `npm start` running? are the exported variables from this run?";

/** `note` hears, in one line, why a connection file was ignored. */
export function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv, cwd = process.cwd(), note: (line: string) => void = () => undefined): Target {
  const outputs = flags.stage ? stageOutputs(flags.stage, cwd) : {};
  let file: Record<string, string | undefined> = {};
  let source: Target["source"] = flags.url ? "flags" : flags.stage ? "stage" : "env";
  let unreachableHint = flags.stage ? `is stage ${flags.stage} deployed, and .sst/outputs.json from its last deploy?` : NOT_RUNNING;
  if (!flags.url && !flags.stage && !env.API_URL) {
    const lookup = readProfile(profileFile(env, cwd));
    if ("found" in lookup) {
      const { pid, started_at: _, ...fields } = lookup.found;
      file = fields;
      source = "profile";
      unreachableHint = `the local profile in ${lookup.file} (pid ${pid}) does not answer; is that npm start still starting, or stuck?`;
    } else if ("stale" in lookup) {
      note(`note: ignoring ${lookup.file}: ${lookup.stale}`);
    }
  }
  const url = flags.url ?? outputs.ApiUrl ?? env.API_URL ?? file.API_URL;
  if (!url) {
    throw new UsageError("no API URL: start the local profile (npm start; the CLI finds it), pass --url, set API_URL, or pass --stage <stage>");
  }
  if (source !== "stage" && source !== "profile" && !isLoopback(url)) unreachableHint = "is the URL right? (a deployed stage: --stage <stage>)";
  // The environment's AWS settings win over the file's, as any explicit setting does.
  const sqsEndpoint = env.AWS_ENDPOINT_URL_SQS ?? env.AWS_ENDPOINT_URL ?? file.AWS_ENDPOINT_URL_SQS;
  const fileKeys = file.AWS_ACCESS_KEY_ID && file.AWS_SECRET_ACCESS_KEY && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE;
  return {
    url: url.replace(/\/+$/, ""),
    queueUrl: flags["queue-url"] ?? outputs.QueueUrl ?? env.QUEUE_URL ?? file.QUEUE_URL,
    dlqUrl: flags["dlq-url"] ?? outputs.DlqUrl ?? env.DLQ_URL ?? file.DLQ_URL,
    region: flags.region ?? env.AWS_REGION ?? file.AWS_REGION ?? "us-east-1",
    adminToken: flags.token ?? (flags.stage ? undefined : env.ADMIN_TOKEN ?? file.ADMIN_TOKEN),
    sqsEndpoint,
    ...(fileKeys ? { sqsCredentials: { accessKeyId: file.AWS_ACCESS_KEY_ID!, secretAccessKey: file.AWS_SECRET_ACCESS_KEY! } } : {}),
    source,
    unreachableHint,
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

function isLoopback(url: string): boolean {
  try {
    return ["localhost", "127.0.0.1", "[::1]"].includes(new URL(url).hostname) || new URL(url).hostname.startsWith("127.");
  } catch {
    return false;
  }
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

/** The API answered with an error status; the message is the API's own, in words, never raw JSON. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(readonly status: number, readonly body: unknown, message = explainHttpError(status, body)) {
    super(message);
  }
}

/** The API did not answer at all (connection refused, unknown host, reset). */
export class UnreachableError extends Error {
  override name = "UnreachableError";
}

const sentence = (code: string) => code.replace(/_/g, " ");

/**
 * One line for an error answer: the API's `message` when it has one, else a sentence made from its `error` code and
 * the fields that go with it (item_id, request_id, the validation errors, the dependency).
 */
export function explainHttpError(status: number, body: unknown): string {
  if (typeof body !== "object" || body === null) {
    const text = String(body ?? "").trim().split("\n")[0]!.slice(0, 200);
    return `HTTP ${status}${text ? `: ${text}` : ""}`;
  }
  const b = body as Record<string, unknown>;
  const str = (k: string) => (typeof b[k] === "string" ? (b[k] as string) : undefined);
  const error = str("error");
  const correlation = status >= 500 && str("correlation_id") ? ` (correlation id ${str("correlation_id")})` : "";
  if (error === "validation_failed" && Array.isArray(b.errors)) {
    const fields = (b.errors as { field?: string; message?: string }[]).map((e) => `${e.field ?? "?"} ${e.message ?? "is invalid"}`);
    return `the API rejected the request: ${fields.join("; ")}`;
  }
  const message = str("message");
  if (message) return message + correlation;
  switch (error) {
    case "unknown_item":
      return `no item ${str("item_id") ?? ""}`.trim();
    case "not_found":
      return str("request_id") ? `no order ${str("request_id")}` : "not found";
    case "unavailable":
      return `the engine cannot reach ${str("dependency") ?? "a dependency"} right now (HTTP ${status}); try again${correlation}`;
    case undefined:
      return `HTTP ${status}${correlation}`;
    default:
      return `${sentence(error)} (HTTP ${status})${correlation}`;
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
  else if (admin && isLoopback(target.url)) {
    // Only API Gateway checks signatures; the local profile's admin routes take its token.
    throw new UsageError(`no admin token for ${target.url}: set ADMIN_TOKEN (npm start prints it) or pass --token`);
  } else if (admin) {
    try {
      headers = await signRequest(url, method, body, target.region, target.credentials ?? defaultProvider());
    } catch (err) {
      if ((err as Error).name !== "CredentialsProviderError") throw err;
      throw new Error(`no AWS credentials to sign the admin calls to ${target.url} with (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID): ${(err as Error).message}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ? ` (${NETWORK_CODES[cause.code] ?? cause.code})` : cause?.message ? ` (${cause.message})` : "";
    throw new UnreachableError(`could not reach ${url}${why}: ${target.unreachableHint}`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  if (res.ok) return parsed as T;
  if ((res.status === 401 || res.status === 403) && admin) {
    const said = explainHttpError(res.status, parsed);
    throw new HttpError(
      res.status,
      parsed,
      target.adminToken
        ? `the API refused the admin token (${said}): is ADMIN_TOKEN from this run of npm start?`
        : `the API refused the SigV4-signed call (${said}): check your AWS credentials, and execute-api:Invoke on the admin routes`,
    );
  }
  throw new HttpError(res.status, parsed);
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "host name lookup failed",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "timed out",
  UND_ERR_CONNECT_TIMEOUT: "connect timed out",
  UND_ERR_SOCKET: "connection closed",
};

/** An SDK call that failed on the network: which endpoint, in the same words as the API's. */
export function networkFailure(err: unknown): string | undefined {
  const e = err as { code?: string; errors?: { code?: string }[] };
  const code = e?.code ?? e?.errors?.[0]?.code;
  return code && NETWORK_CODES[code] ? NETWORK_CODES[code] : undefined;
}
