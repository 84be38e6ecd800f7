import { describe, expect, it } from "vitest";
import { OrderLookup } from "@flash/core/domain/lookup";
import { fakes, order, record } from "./fakes";

// What a buyer sees at GET /orders/{request_id}, against in-memory ports.
describe("OrderLookup.find", () => {
  it("answers the order record once there is one", async () => {
    const f = fakes({ get: async () => record("COMPLETED") });
    expect((await OrderLookup.find("r-1", f))?.status).toBe("COMPLETED");
  });

  it("answers PENDING while the request is registered and its units held", async () => {
    const f = fakes({ find: async () => order });
    f.inventory.hold = async () => ({ request_id: "r-1", user_id: "u-1", amount: 1, admitted_ms: 0 });
    expect(await OrderLookup.find("r-1", f)).toMatchObject({ status: "PENDING", created_at: "1970-01-01T00:00:00.000Z" });
  });

  it("still answers PENDING between the inventory's settlement and the record's write, not 404", async () => {
    const f = fakes({ find: async () => order, settled: async () => "COMPLETED" });
    expect((await OrderLookup.find("r-1", f))?.status).toBe("PENDING");
  });

  it("finds nothing for a request never registered, or one withdrawn (its buy answered 503)", async () => {
    expect(await OrderLookup.find("r-1", fakes())).toBeUndefined();
    expect(await OrderLookup.find("r-1", fakes({ find: async () => order }))).toBeUndefined();
  });
});
