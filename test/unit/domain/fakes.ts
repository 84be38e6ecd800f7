import type {
  Admission, Inventory, InventoryAudit, ItemState, OrderHistory, OrderQueue, OrderStore, Payments, Registration, Repair,
  RequestRegistry, Settlement,
} from "@flash/core/domain/ports";
import type { Order } from "@flash/core/domain/order";

/**
 * In-memory stand-ins for the domain's ports, for fast unit tests of Buy, Fulfilment, Sweeper and Reconcile.
 * Each answers what the test tells it to and records what it was asked. They model no Redis or AWS behaviour:
 * the real adapters are tested against redis-server, fauxqs and dynalite elsewhere.
 */
export type Calls = { method: string; args: unknown[] }[];

function recorder<T extends object>(name: string, calls: Calls, impl: T): T {
  return new Proxy(impl, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push({ method: `${name}.${String(prop)}`, args });
        return value.apply(target, args);
      };
    },
  });
}

const fail = (what: string) => () => Promise.reject(new Error(`${what} was not expected in this test`));

export function fakes(overrides: {
  admit?: () => Promise<Admission>;
  reserve?: () => Promise<Admission>;
  settle?: (outcome: Order.FinalStatus, authority: string) => Promise<Settlement>;
  withdraw?: () => Promise<{ kind: "withdrawn" | "queued" | "nothing" }>;
  markQueued?: () => Promise<void>;
  register?: () => Promise<Registration>;
  find?: () => Promise<Order.Request | undefined>;
  settled?: () => Promise<Order.FinalStatus | undefined>;
  enqueue?: () => Promise<void>;
  get?: () => Promise<Order.Record | undefined>;
  finalize?: () => Promise<"written" | "already_final">;
  charge?: () => Promise<"approved" | "declined">;
  items?: string[];
  overdue?: Inventory["overdue"];
  abandon?: () => Promise<boolean>;
  snapshot?: () => Promise<ItemState>;
  byItem?: () => Promise<Order.Record[]>;
  repair?: () => Promise<Repair>;
} = {}) {
  const calls: Calls = [];
  const inventory: Inventory = recorder("inventory", calls, {
    admit: overrides.admit ?? (async () => ({ kind: "admitted", stockLeft: 9, admittedAt: "2026-11-22T00:00:00.000Z" })),
    reserve: overrides.reserve ?? (async () => ({ kind: "held", admittedAt: "2026-11-22T00:00:00.000Z" })),
    markQueued: overrides.markQueued ?? (async () => undefined),
    withdraw: overrides.withdraw ?? (async () => ({ kind: "withdrawn" })),
    settle: async (_order, outcome, authority) => (overrides.settle ? overrides.settle(outcome, authority) : { kind: "settled", outcome }),
    setStock: fail("setStock"),
    levels: async () => undefined,
    shelf: async () => undefined,
    items: async () => overrides.items ?? [],
    markDeadLettered: async () => undefined,
    overdue: overrides.overdue ?? (async () => []),
    abandon: overrides.abandon ?? (async () => true),
    hold: async () => undefined,
    settled: overrides.settled ?? (async () => undefined),
  });
  const requests: RequestRegistry = recorder("requests", calls, {
    register: overrides.register ?? (async () => "registered"),
    find: overrides.find ?? (async () => undefined),
  });
  const queue: OrderQueue = recorder("queue", calls, { enqueue: overrides.enqueue ?? (async () => undefined), deadLetter: async () => undefined });
  const orders: OrderStore & OrderHistory = recorder("orders", calls, {
    get: overrides.get ?? (async () => undefined),
    getMany: async () => new Map(),
    finalize: overrides.finalize ?? (async () => "written"),
    byItem: overrides.byItem ?? (async () => []),
  });
  const payments: Payments = recorder("payments", calls, { charge: overrides.charge ?? (async () => "approved"), refund: async () => undefined });
  const audit: InventoryAudit = recorder("audit", calls, { snapshot: overrides.snapshot ?? fail("snapshot"), repair: overrides.repair ?? fail("repair") });
  const called = (method: string) => calls.filter((c) => c.method === method);
  return { inventory, requests, queue, orders, history: orders, payments, audit, calls, called };
}

export const order: Order.Request = { request_id: "r-1", user_id: "u-1", item_id: "sku-1", amount: 1 };
export const message: Order.Message = { ...order, accepted_at: "2026-11-22T00:00:00.000Z" };
export const record = (status: Order.Status): Order.Record => ({ ...order, status, created_at: message.accepted_at, updated_at: message.accepted_at });
export const down = (dependency: "redis" | "queue" | "orders_table") => async () => {
  const { DependencyUnavailableError } = await import("@flash/core/domain/errors");
  throw new DependencyUnavailableError(dependency);
};
