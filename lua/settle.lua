-- End one request. COMPLETED moves the held units to sold; a FAILED_* outcome puts them back on sale.
-- ARGV[1] request_id  ARGV[2] outcome  ARGV[3] user_id  ARGV[4] amount
-- ARGV[5] authority: "first" (the processor: the first outcome recorded wins) or "record" (the outcome is the
-- order record's, which is the truth: a ledger that says otherwise is corrected and the units moved to match).
-- Returns {SETTLED, outcome now recorded, stock left} or {NO_HOLD} (completing needs a hold). The stock left is
-- the processor's InventoryRemaining metric, so that costs no call of its own.
local rid, outcome, user, amount, authority = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local function settled(recorded) return {'SETTLED', recorded, redis.call('HGET', ITEM, 'stock') or ''} end

local entry = entry_of(redis.call('HGET', LEDGER, rid))
if entry and entry.outcome ~= 'CANCELLED' then
  if entry.outcome == outcome or authority ~= 'record' then return settled(entry.outcome) end
  local who, units = entry.user or user, entry.amount or amount
  if entry.outcome == 'COMPLETED' then
    redis.call('HINCRBY', ITEM, 'sold', -units)
    redis.call('HINCRBY', ITEM, 'stock', units)
    add_to_user(who, -units)
  elseif outcome == 'COMPLETED' then
    redis.call('HINCRBY', ITEM, 'stock', -units)
    redis.call('HINCRBY', ITEM, 'sold', units)
    add_to_user(who, units)
  end
  redis.call('HSET', LEDGER, rid, entry_value(outcome, who, units))
  return settled(outcome)
end

local hold = hold_of(redis.call('HGET', HOLDS, rid))
if not hold then
  if outcome == 'COMPLETED' then return {'NO_HOLD'} end
  -- Nothing held, but the request still ends here: later deliveries must not take stock.
  redis.call('HSET', LEDGER, rid, entry_value(outcome, user, amount))
  return settled(outcome)
end
drop_hold(rid)
if outcome == 'COMPLETED' then
  redis.call('HINCRBY', ITEM, 'in_flight', -hold.amount)
  redis.call('HINCRBY', ITEM, 'sold', hold.amount)
else
  release(hold)
end
redis.call('HSET', LEDGER, rid, entry_value(outcome, hold.user, hold.amount))
return settled(outcome)
