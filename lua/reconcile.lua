-- Operator (ops reconcile --repair): make one item's counters agree with the recorded orders, or rebuild
-- them after a cache loss. The caller computes what the orders say; this script applies it atomically and
-- derives everything that depends on open holds itself, so admissions running meanwhile are not lost.
-- KEYS: the same five item keys as admit.lua.
-- ARGV[1] JSON plan:
--   ledger_len      HLEN of the ledger when the caller read it (optimistic check against settlements since)
--   total           units on sale: stock + in_flight + sold
--   per_user_limit  used only when the item hash has none (rebuild)
--   completed       {user_id: units completed}   sold is their sum
--   ledger          {request_id: final status} entries to write
--   drop_holds      [request_id] holds whose order is already final
-- Returns {'CHANGED'} when a settlement landed since the caller read the state (re-read and retry),
-- else {'REPAIRED', stock, in_flight, sold, per_user_limit, oversold}.
local plan = cjson.decode(ARGV[1])
if redis.call('HLEN', KEYS[5]) ~= plan.ledger_len then return {'CHANGED'} end
for _, rid in ipairs(plan.drop_holds) do
  redis.call('HDEL', KEYS[3], rid)
  redis.call('ZREM', KEYS[4], rid)
end
for rid, status in pairs(plan.ledger) do redis.call('HSET', KEYS[5], rid, status) end
local users, sold = {}, 0
for user, units in pairs(plan.completed) do
  users[user] = units
  sold = sold + units
end
-- In flight is what the open holds add up to; each user holds their completed units plus their open holds.
local in_flight = 0
local holds = redis.call('HGETALL', KEYS[3])
for i = 1, #holds, 2 do
  local user, amount, at = string.match(holds[i + 1], '^([^|]*)|(%d+)|(%d+)$')
  amount = tonumber(amount)
  in_flight = in_flight + amount
  users[user] = (users[user] or 0) + amount
  redis.call('ZADD', KEYS[4], 'NX', at, holds[i])
end
for _, rid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  if redis.call('HEXISTS', KEYS[3], rid) == 0 then redis.call('ZREM', KEYS[4], rid) end
end
redis.call('DEL', KEYS[2])
for user, units in pairs(users) do
  if units > 0 then redis.call('HSET', KEYS[2], user, units) end
end
local stock = plan.total - sold - in_flight
local oversold = 0
if stock < 0 then oversold, stock = -stock, 0 end
local limit = redis.call('HGET', KEYS[1], 'per_user_limit') or plan.per_user_limit or 1
redis.call('HSET', KEYS[1], 'stock', stock, 'in_flight', in_flight, 'sold', sold, 'per_user_limit', limit, 'total', plan.total)
return {'REPAIRED', tostring(stock), tostring(in_flight), tostring(sold), tostring(limit), tostring(oversold)}
