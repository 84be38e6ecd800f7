import { describe, expect, it } from "vitest";
import { Fulfilment } from "@flash/core/domain/fulfilment";
import { down, fakes, message, record } from "./fakes";

// Every outcome of Fulfilment.process, against in-memory ports.
describe("Fulfilment.process", () => {
  it("reserves, charges, completes in the inventory, then records COMPLETED", async () => {
    const f = fakes();
    expect((await Fulfilment.process(message, f, "c")).status).toBe("COMPLETED");
    expect(f.calls.map((c) => c.method)).toEqual(["orders.get", "inventory.reserve", "payments.charge", "inventory.settle", "orders.finalize"]);
    expect(f.called("inventory.settle")[0]!.args.slice(1)).toEqual(["COMPLETED", "first"]);
  });

  it("releases the units as FAILED_PAYMENT when the charge is declined, and refunds nothing", async () => {
    const f = fakes({ charge: async () => "declined" });
    expect((await Fulfilment.process(message, f, "c")).status).toBe("FAILED_PAYMENT");
    expect(f.called("payments.refund")).toHaveLength(0);
  });

  it.each([
    ["FAILED_SOLD_OUT", { kind: "sold_out", stockLeft: 0 }],
    ["FAILED_LIMIT", { kind: "purchase_limit_exceeded", held: 1, limit: 1 }],
  ] as const)("ends as %s without charging when the hold is gone and cannot be taken again", async (status, reservation) => {
    const f = fakes({ reserve: async () => reservation });
    expect((await Fulfilment.process(message, f, "c")).status).toBe(status);
    expect(f.called("payments.charge")).toHaveLength(0);
  });

  it("records what the inventory ledger already knows (a crash between settle and record)", async () => {
    const f = fakes({ reserve: async () => ({ kind: "settled", outcome: "COMPLETED" }) });
    expect((await Fulfilment.process(message, f, "c")).status).toBe("COMPLETED");
    expect(f.called("orders.finalize")[0]!.args[1]).toBe("COMPLETED");
  });

  it("drops the message of a buy call that withdrew and answered 503: no charge, no record", async () => {
    const f = fakes({ reserve: async () => ({ kind: "withdrawn" }) });
    expect((await Fulfilment.process(message, f, "c")).status).toBe("WITHDRAWN");
    expect(f.called("payments.charge")).toHaveLength(0);
    expect(f.called("orders.finalize")).toHaveLength(0);
  });

  it("trusts a final order record: makes Redis agree with it and takes nothing", async () => {
    const f = fakes({ get: async () => record("FAILED_EXPIRED") });
    expect((await Fulfilment.process(message, f, "c")).status).toBe("FAILED_EXPIRED");
    expect(f.called("inventory.reserve")).toHaveLength(0);
    expect(f.called("inventory.settle")[0]!.args.slice(1)).toEqual(["FAILED_EXPIRED", "record"]);
  });

  it("yields to an order record written meanwhile (the sweeper expired it): Redis follows the record, the charge is refunded", async () => {
    let reads = 0;
    const f = fakes({ get: async () => (reads++ === 0 ? undefined : record("FAILED_EXPIRED")), finalize: async () => "already_final" });
    expect((await Fulfilment.process(message, f, "c")).status).toBe("FAILED_EXPIRED");
    expect(f.called("inventory.settle").map((c) => c.args.slice(1))).toEqual([["COMPLETED", "first"], ["FAILED_EXPIRED", "record"]]);
    expect(f.called("payments.refund")).toHaveLength(1);
  });

  it("takes the units again once when the hold vanished between reserve and settle, and refunds if that fails", async () => {
    let reserves = 0;
    const f = fakes({
      reserve: async () => (reserves++ === 0 ? { kind: "held", admittedAt: "t" } : { kind: "sold_out", stockLeft: 0 }),
      settle: async (outcome) => (outcome === "COMPLETED" ? { kind: "no_hold" } : { kind: "settled", outcome }),
    });
    expect((await Fulfilment.process(message, f, "c")).status).toBe("FAILED_SOLD_OUT");
    expect(f.called("payments.charge")).toHaveLength(1);
    expect(f.called("payments.refund")).toHaveLength(1);
  });

  it("throws for the queue to retry: a lost item, a hold for another payload, an unreachable dependency", async () => {
    await expect(Fulfilment.process(message, fakes({ reserve: async () => ({ kind: "unknown_item" }) }), "c")).rejects.toMatchObject({ name: "InventoryMissingError" });
    await expect(Fulfilment.process(message, fakes({ reserve: async () => ({ kind: "reused" }) }), "c")).rejects.toMatchObject({ name: "PoisonMessageError" });
    await expect(Fulfilment.process(message, fakes({ get: down("orders_table") }), "c")).rejects.toMatchObject({ dependency: "orders_table" });
  });
});
