-- Admission at the buy endpoint: move `amount` units from stock to in-flight for one request.
-- KEYS[1] item:{<item>}         hash: stock, in_flight, sold, per_user_limit
-- KEYS[2] item:{<item>}:users   hash: user_id -> units admitted or sold to that user
-- KEYS[3] item:{<item>}:holds   hash: request_id -> "user_id|amount|admitted_ms"
-- KEYS[4] item:{<item>}:held_at sorted set: request_id by admission time (for expiry)
-- KEYS[5] item:{<item>}:ledger  hash: request_id -> final outcome
-- KEYS[6] item:{<item>}:rejections hash: reason -> count (for the sale report)
-- ARGV[1] request_id  ARGV[2] user_id  ARGV[3] amount  ARGV[4] 1 to count sold_out / purchase_limit refusals
-- (the buy path does; the processor's reserve step does not). Counting here keeps the sold-out path at one call.
-- Returns {code, detail}: ADMITTED stock_left | HELD | SETTLED outcome | UNKNOWN_ITEM |
--                         SOLD_OUT stock_left | LIMIT already_held per_user_limit
local rid, user, amount = ARGV[1], ARGV[2], tonumber(ARGV[3])
local settled = redis.call('HGET', KEYS[5], rid)
if settled then return {'SETTLED', settled} end
if redis.call('HEXISTS', KEYS[3], rid) == 1 then return {'HELD', ''} end
local item = redis.call('HMGET', KEYS[1], 'stock', 'per_user_limit')
if not item[1] then return {'UNKNOWN_ITEM', ''} end
local stock = tonumber(item[1])
if stock < amount then
  if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[6], 'sold_out', 1) end
  return {'SOLD_OUT', tostring(stock)}
end
local limit = tonumber(item[2] or '1')
local held = tonumber(redis.call('HGET', KEYS[2], user) or '0')
if held + amount > limit then
  if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[6], 'purchase_limit', 1) end
  return {'LIMIT', tostring(held), tostring(limit)}
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HINCRBY', KEYS[1], 'stock', -amount)
redis.call('HINCRBY', KEYS[1], 'in_flight', amount)
redis.call('HINCRBY', KEYS[2], user, amount)
redis.call('HSET', KEYS[3], rid, user .. '|' .. amount .. '|' .. now_ms)
redis.call('ZADD', KEYS[4], now_ms, rid)
return {'ADMITTED', tostring(stock - amount)}
