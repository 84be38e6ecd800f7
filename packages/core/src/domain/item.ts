import * as z from "zod";
import "./messages";

/** An item on sale, as an operator sets it up and as a storefront sees it. */
export namespace Item {
  const instant = z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time, e.g. 2026-11-22T18:00:00Z" });

  /**
   * What an operator loads: the units left, how many one buyer may hold or buy, and optionally the sale window
   * (buys are admitted from starts_at, and until ends_at; the door checks it by the Redis clock).
   */
  export const StockUpdate = z
    .object({
      stock: z.number().int("must be an integer").min(0).meta({ description: "The units left to sell, replacing what is left now." }),
      per_user_limit: z.number().int("must be an integer").min(1).default(1).meta({ description: "Units one buyer may hold or buy." }),
      starts_at: instant.optional().meta({ description: "Buys are admitted from this instant (the Redis clock). Absent: at once." }),
      ends_at: instant.optional().meta({ description: "Buys are refused from this instant (sale_ended); later than starts_at. Absent: while stock lasts." }),
    })
    .refine((u) => !u.starts_at || !u.ends_at || Date.parse(u.ends_at) > Date.parse(u.starts_at), {
      path: ["ends_at"],
      message: "must be later than starts_at",
    })
    .meta({ description: "An item's stock, per-user limit and sale window. Loading an item again without a window removes it." });
  export type StockUpdate = z.infer<typeof StockUpdate>;

  export type State = "upcoming" | "live" | "sold_out" | "ended";

  /** What anyone may read of an item: never in-flight, sold or limit figures. */
  export interface View {
    item_id: string;
    stock_left: number;
    starts_at: string | null;
    ends_at: string | null;
    state: State;
  }

  /** The item's window and stock as the inventory holds them, with the inventory's clock. */
  export interface Shelf {
    stockLeft: number;
    startsAtMs?: number;
    endsAtMs?: number;
    nowMs: number;
  }

  export function view(itemId: string, shelf: Shelf): View {
    const { stockLeft, startsAtMs, endsAtMs, nowMs } = shelf;
    const state: State =
      endsAtMs !== undefined && nowMs >= endsAtMs ? "ended"
      : startsAtMs !== undefined && nowMs < startsAtMs ? "upcoming"
      : stockLeft <= 0 ? "sold_out"
      : "live";
    const iso = (ms?: number) => (ms === undefined ? null : new Date(ms).toISOString());
    return { item_id: itemId, stock_left: stockLeft, starts_at: iso(startsAtMs), ends_at: iso(endsAtMs), state };
  }
}
