import * as z from "zod";
import "./messages";

/** What an order is, independent of where it is stored or how it travels. */
export namespace Order {
  export const FINAL_STATUSES = ["COMPLETED", "FAILED_SOLD_OUT", "FAILED_LIMIT", "FAILED_PAYMENT", "FAILED_EXPIRED"] as const;
  export type FinalStatus = (typeof FINAL_STATUSES)[number];
  export type FailureStatus = Exclude<FinalStatus, "COMPLETED">;
  export type Status = "PENDING" | FinalStatus;

  /**
   * Why a buy is refused at the door, one word each. The same word is the HTTP error code, the metric
   * (`Rejected` + the word in PascalCase) and the sale report's counter key (counted per item by the door, lua/admit.lua).
   */
  export const REJECTION_REASONS = [
    "validation_failed",
    "duplicate_request",
    "idempotency_key_reused",
    "unknown_item",
    "sold_out",
    "purchase_limit_exceeded",
    "rate_limited",
    "sale_not_started",
    "sale_ended",
  ] as const;
  export type RejectionReason = (typeof REJECTION_REASONS)[number];

  export const isFinal = (status: string): status is FinalStatus =>
    (FINAL_STATUSES as readonly string[]).includes(status);

  /** Why an order failed, in words a storefront can show. */
  export const REASONS: { [S in FailureStatus]: string } = {
    FAILED_SOLD_OUT: "sold out before the order could be settled",
    FAILED_LIMIT: "per-user purchase limit reached",
    FAILED_PAYMENT: "payment declined",
    FAILED_EXPIRED: "reservation expired before the order was settled",
  };

  export const id = z.string().min(1).max(100).regex(/^[A-Za-z0-9_-]+$/, "must be 1-100 characters of A-Z a-z 0-9 _ -");
  export const requestId = z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9_.:-]+$/, "must be 1-200 characters of A-Z a-z 0-9 _ . : -");
  export const amount = z.number().int("must be an integer").min(1).max(1000);

  /** The order as the buy endpoint accepts it. */
  export const Request = z.object({
    user_id: id,
    item_id: id,
    amount,
    request_id: requestId.meta({ description: "Idempotency key: a retry with the same one is never a second order. A UUID fits." }),
  });
  export type Request = z.infer<typeof Request>;

  /** The order as it travels on the queue. */
  export const Message = Request.extend({ accepted_at: z.string().min(1) });
  export type Message = z.infer<typeof Message>;

  export interface Record extends Request {
    status: Status;
    reason?: string;
    created_at: string;
    updated_at: string;
  }
}
