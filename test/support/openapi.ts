import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { OPENAPI_FILE } from "../../scripts/openapi";

/** docs/openapi.yaml, read as it is committed (the unit test checks it is what the code generates). */
export const committedSpec = (): Record<string, any> => parse(readFileSync(OPENAPI_FILE, "utf8"));

/** The document with every $ref replaced by what it points at (no schema of ours is recursive). */
export const dereferenced = async (): Promise<Record<string, any>> => (await SwaggerParser.dereference(committedSpec() as never)) as Record<string, any>;

/**
 * A schema as strict as the engine should be: an object with documented properties gets additionalProperties false
 * (the document leaves objects open for clients; the tests want every field the engine answers documented).
 */
export function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === "examples" || k === "const" || k === "default" || k === "enum" ? v : strict(v);
  if (out.properties && !("additionalProperties" in out)) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);
const compiled = { strict: new WeakMap<object, ValidateFunction>(), open: new WeakMap<object, ValidateFunction>() };

/** Validate a value against a (dereferenced) schema, strict by default; the errors one line each, none when valid. */
export function schemaErrors(schema: object, value: unknown, { strictObjects = true } = {}): string[] {
  const cache = strictObjects ? compiled.strict : compiled.open;
  let validate = cache.get(schema);
  if (!validate) cache.set(schema, (validate = ajv.compile(strictObjects ? (strict(schema) as object) : schema)));
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}

export interface SpecExample {
  operationId: string;
  method: string;
  path: string;
  name: string;
  summary: string;
  status: number;
  /** The response example's value. */
  response: any;
  /** The response's schema (dereferenced) and documented headers. */
  schema: object;
  headers: Record<string, { required?: boolean }>;
  params: Record<string, string>;
  requestHeaders: Record<string, string>;
  body?: unknown;
  requestSchema?: object;
  setup: string[];
  identity: boolean;
  authorization?: "none" | { token: Record<string, unknown> };
  notReproduced?: string;
  security: Record<string, unknown>[];
}

/** Every response example of a (dereferenced) document, with the request of the same name. */
export function examplesOf(doc: Record<string, any>): SpecExample[] {
  const out: SpecExample[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<Record<string, any>>(item)) {
      const parameters: any[] = op.parameters ?? [];
      const media = op.requestBody?.content?.["application/json"];
      for (const [status, response] of Object.entries<Record<string, any>>(op.responses)) {
        const content = response.content?.["application/json"];
        for (const [name, example] of Object.entries<Record<string, any>>(content?.examples ?? {})) {
          const value = (p: any) => p.examples?.[name]?.value as string | undefined;
          out.push({
            operationId: op.operationId,
            method: method.toUpperCase(),
            path,
            name,
            summary: example.summary,
            status: Number(status),
            response: example.value,
            schema: content.schema,
            headers: response.headers ?? {},
            params: Object.fromEntries(parameters.filter((p) => p.in === "path" && value(p) !== undefined).map((p) => [p.name, value(p)!])),
            requestHeaders: Object.fromEntries(parameters.filter((p) => p.in === "header" && value(p) !== undefined).map((p) => [p.name, value(p)!])),
            body: media?.examples?.[name]?.value,
            requestSchema: media?.schema,
            setup: example["x-setup"] ?? [],
            identity: example["x-buyer-identity"] === true,
            authorization: example["x-authorization"],
            notReproduced: example["x-not-reproduced"],
            security: op.security,
          });
        }
      }
    }
  }
  return out;
}
