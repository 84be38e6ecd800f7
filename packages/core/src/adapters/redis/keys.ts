import type { Hold, LedgerEntry } from "../../domain/ports";
import { ITEM_KEY_COUNT } from "./scripts";

/** One item's keys, in the order lua/lib.lua names them. They share the hash tag {item_id}, so each script stays in one cluster slot. */
export const itemKeys = (itemId: string) => {
  const tag = `item:{${itemId}}`;
  return {
    item: tag,
    users: `${tag}:users`,
    holds: `${tag}:holds`,
    heldAt: `${tag}:held_at`,
    ledger: `${tag}:ledger`,
    admitting: `${tag}:admitting`,
    rejections: `${tag}:rejections`,
    deadLettered: `${tag}:dead_lettered`,
  };
};
/** The keys as item scripts take them. */
export const keyList = (itemId: string) => {
  const keys = Object.values(itemKeys(itemId));
  if (keys.length !== ITEM_KEY_COUNT) throw new Error("itemKeys and lua/lib.lua disagree");
  return keys;
};

/** A buyer's sliding-window log for one item: under the item's tag, so the door is one script in one slot. */
export const rateKey = (itemId: string, userId: string) => `${itemKeys(itemId).item}:rate:${userId}`;
/** The item, user and amount a request_id was accepted for, across items: its own slot. */
export const requestKey = (requestId: string) => `req:{${requestId}}`;
/** The registry of items on sale: its own slot, so it is written beside set_stock.lua, not inside it. */
export const ITEMS_KEY = "items";

/** A hold as lua/lib.lua writes it: "user|amount|admitted_ms|owner". */
export function parseHold(requestId: string, value: string): Hold {
  const [user, amount, at] = value.split("|");
  return { request_id: requestId, user_id: user!, amount: Number(amount), admitted_ms: Number(at) };
}

/** A ledger entry as lua/lib.lua writes it: "OUTCOME|user|amount" (entries from before that carry the outcome alone). */
export function parseLedgerEntry(value: string): LedgerEntry {
  const [outcome, user, amount] = value.split("|");
  return { outcome: outcome as LedgerEntry["outcome"], ...(user ? { user_id: user, amount: Number(amount) } : {}) };
}
