import * as z from "zod";

/** An item on sale, as an operator sets it up. */
export namespace Item {
  /** What an operator loads: the units left, and how many one buyer may hold or buy. */
  export const StockUpdate = z.object({
    stock: z.number().int("must be an integer").min(0),
    per_user_limit: z.number().int("must be an integer").min(1).default(1),
  });
  export type StockUpdate = z.infer<typeof StockUpdate>;
}
