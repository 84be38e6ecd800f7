import { describe, expect, it } from "vitest";
import { SoldOutCache } from "@flash/core/domain/sold-out";

describe("SoldOutCache", () => {
  it("refuses what the door said is gone for ttlMs, then asks the door again", () => {
    let now = 1_000;
    const cache = new SoldOutCache(250, () => now);
    expect(cache.refuses("sku", 1)).toBe(false);
    cache.remember("sku", 0);
    expect(cache.refuses("sku", 1)).toBe(true);
    expect(cache.refuses("other", 1)).toBe(false);
    now += 249;
    expect(cache.refuses("sku", 1)).toBe(true);
    now += 1;
    expect(cache.refuses("sku", 1)).toBe(false); // released units become buyable again within the TTL
  });

  it("remembers the stock the door reported: fewer units than that still go to the door", () => {
    const cache = new SoldOutCache(250, () => 0);
    cache.remember("sku", 2);
    expect(cache.refuses("sku", 3)).toBe(true);
    expect(cache.refuses("sku", 2)).toBe(false);
  });

  it("is off at 0", () => {
    const cache = new SoldOutCache(0, () => 0);
    cache.remember("sku", 0);
    expect(cache.refuses("sku", 1)).toBe(false);
  });
});
