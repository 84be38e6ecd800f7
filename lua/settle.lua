-- Settle one admitted request, exactly once.
-- KEYS: the same five item keys as admit.lua.
-- ARGV[1] request_id  ARGV[2] outcome: COMPLETED moves the held units to sold; any FAILED_* outcome
-- releases them back to stock (FAILED_EXPIRED is the sweeper's); CANCELLED releases them without a ledger entry, so the same
-- request_id can be admitted again (used when the buy endpoint could not enqueue).
-- Returns {SETTLED, outcome} (the first outcome recorded wins), {NO_HOLD, ''} when nothing is held.
local rid, outcome = ARGV[1], ARGV[2]
local settled = redis.call('HGET', KEYS[5], rid)
if settled then return {'SETTLED', settled} end
local hold = redis.call('HGET', KEYS[3], rid)
if not hold then
  redis.call('ZREM', KEYS[4], rid)
  -- Completing, cancelling and expiring all need a hold; nothing held means nothing to do.
  if outcome == 'COMPLETED' or outcome == 'CANCELLED' or outcome == 'FAILED_EXPIRED' then return {'NO_HOLD', ''} end
  -- A failure with nothing held still ends the request: later redeliveries must not take stock.
  redis.call('HSET', KEYS[5], rid, outcome)
  return {'SETTLED', outcome}
end
local sep = string.find(hold, '|', 1, true)
local user = string.sub(hold, 1, sep - 1)
local amount = tonumber(string.match(hold, '^[^|]*|(%d+)'))
redis.call('HDEL', KEYS[3], rid)
redis.call('ZREM', KEYS[4], rid)
redis.call('HINCRBY', KEYS[1], 'in_flight', -amount)
if outcome == 'COMPLETED' then
  redis.call('HINCRBY', KEYS[1], 'sold', amount)
else
  redis.call('HINCRBY', KEYS[1], 'stock', amount)
  if redis.call('HINCRBY', KEYS[2], user, -amount) <= 0 then redis.call('HDEL', KEYS[2], user) end
end
if outcome ~= 'CANCELLED' then redis.call('HSET', KEYS[5], rid, outcome) end
return {'SETTLED', outcome}
