import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { ROUTES } from "@flash/core/contract/routes";
import { OPENAPI_FILE, renderOpenApi } from "../../scripts/openapi";
import { committedSpec, dereferenced, examplesOf, schemaErrors } from "../support/openapi";

// docs/openapi.yaml is generated from the code (npm run openapi); these check it is, that it is a valid OpenAPI 3.1
// document by two maintained validators, and that its examples agree with its schemas. test/e2e/openapi-contract
// sends its examples to the engine.

describe("docs/openapi.yaml", () => {
  it("is what npm run openapi generates from the code (run it after changing a route, a schema or an answer)", () => {
    expect(readFileSync(OPENAPI_FILE, "utf8") === renderOpenApi(), "docs/openapi.yaml is out of date: run npm run openapi").toBe(true);
  });

  it("is valid by @apidevtools/swagger-parser (OpenAPI 3.1 schema, $refs resolve)", async () => {
    await expect(SwaggerParser.validate(OPENAPI_FILE)).resolves.toBeTruthy();
  });

  it("passes @redocly/openapi-core's recommended ruleset: no error, and only the warnings it must have", async () => {
    const config = await createConfig({ extends: ["recommended"] });
    const problems = await lintFromString({ source: readFileSync(OPENAPI_FILE, "utf8"), absoluteRef: OPENAPI_FILE, config });
    const where = (p: (typeof problems)[number]) => p.location[0]?.pointer ?? "";
    expect(problems.filter((p) => p.severity === "error").map((p) => `${p.ruleId} ${p.message} ${where(p)}`)).toEqual([]);
    const unexpected = problems.filter((p) => {
      // The project has no licence to name.
      if (p.ruleId === "info-license") return false;
      // GET /health answers 200 or 503: nothing a caller can get wrong.
      if (p.ruleId === "operation-4xx-response") return where(p) === "#/paths/~1health/get/responses" ? false : true;
      // A request example that breaks its schema on purpose: only examples answered 400 may.
      if (p.ruleId === "no-invalid-media-type-examples" || p.ruleId === "no-invalid-parameter-examples") {
        const name = /\/examples\/([^/]+)\/value/.exec(where(p))?.[1];
        const op = where(p).split("/").slice(0, 4).join("/");
        const resolve = (pointer: string) =>
          pointer.slice(2).split("/").reduce<any>((node, key) => node?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], committedSpec());
        return !name || !resolve(`${op}/responses/400`)?.content?.["application/json"]?.examples?.[name];
      }
      return true;
    });
    expect(unexpected.map((p) => `${p.severity} ${p.ruleId} ${p.message} ${where(p)}`)).toEqual([]);
  });

  it("has every route of contract/routes.ts, its name as operationId, and security per its auth", () => {
    const spec = committedSpec();
    const operations = Object.entries<Record<string, any>>(spec.paths).flatMap(([path, item]) =>
      Object.entries<Record<string, any>>(item).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
    );
    expect(operations.map((o) => `${o.method} ${o.path}`).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of ROUTES) {
      const { op } = operations.find((o) => o.path === route.path && o.method === route.method)!;
      expect(op.operationId).toBe(route.name);
      const expected = { public: [], buyer: [{}, { buyerJwt: [] }], admin: [{ adminToken: [] }, { sigv4: [] }] }[route.auth];
      expect(op.security, route.name).toEqual(expected);
      if (route.auth === "admin") expect(Object.keys(op.responses), route.name).toEqual(expect.arrayContaining(["401", "403"]));
      if (route.auth === "buyer") expect(Object.keys(op.responses), route.name).toContain("401");
    }
  });

  it("answers a reconcile that cannot rebuild with 400, as the handler does", () => {
    const responses = committedSpec().paths["/admin/items/{item_id}/reconcile"].post.responses;
    expect(responses["400"].content["application/json"].examples.rebuild_without_total).toBeDefined();
  });

  it("has response examples that match their schemas exactly, and request examples answered 2xx that match theirs", async () => {
    const examples = examplesOf(await dereferenced());
    expect(examples.length).toBeGreaterThan(40);
    for (const ex of examples) {
      const label = `${ex.operationId} ${ex.name}`;
      expect(schemaErrors(ex.schema, ex.response), label).toEqual([]);
      if (ex.status < 300 && ex.body !== undefined) expect(schemaErrors(ex.requestSchema!, ex.body, { strictObjects: false }), label).toEqual([]);
    }
  });

  it("documents an example of every status of every operation", async () => {
    const doc = await dereferenced();
    const examples = examplesOf(doc);
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const op of Object.values<Record<string, any>>(item)) {
        for (const status of Object.keys(op.responses)) {
          expect(examples.some((ex) => ex.operationId === op.operationId && ex.status === Number(status)), `${op.operationId} (${path}) ${status}`).toBe(true);
        }
      }
    }
  });
});
