-- Operator (ops reconcile --repair): make one item's counters agree with the recorded orders, or rebuild
-- them after a cache loss. The caller computes what the orders say; this script applies it atomically and
-- derives everything that depends on open holds itself, so admissions running meanwhile are not lost.
-- ARGV[1] JSON plan:
--   ledger_len      HLEN of the ledger when the caller read it (optimistic check against settlements since)
--   total           units on sale: stock + in_flight + sold
--   per_user_limit  used only when the item hash has none (rebuild)
--   completed       [[user_id, units completed], ...]   sold is their sum
--   ledger          [[request_id, final status, user_id, amount], ...] entries to write
--   drop_holds      [request_id, ...] holds whose order is already final
-- Pairs rather than JSON objects: user ids are the buyers' strings, and any of them may be a key.
-- Returns {'CHANGED'} when a settlement landed since the caller read the state (re-read and retry),
-- else {'REPAIRED', stock, in_flight, sold, per_user_limit, oversold}.
local plan = cjson.decode(ARGV[1])
if redis.call('HLEN', LEDGER) ~= plan.ledger_len then return {'CHANGED'} end
for _, rid in ipairs(plan.drop_holds) do
  redis.call('HDEL', HOLDS, rid)
  redis.call('ZREM', HELD_AT, rid)
  redis.call('ZREM', ADMITTING, rid)
  redis.call('ZREM', DEAD_LETTERED, rid)
end
for _, e in ipairs(plan.ledger) do redis.call('HSET', LEDGER, e[1], entry_value(e[2], e[3], e[4])) end
local users, sold = {}, 0
for _, pair in ipairs(plan.completed) do
  users[pair[1]] = pair[2]
  sold = sold + pair[2]
end
-- In flight is what the open holds add up to; each user holds their completed units plus their open holds.
local in_flight = 0
local holds = redis.call('HGETALL', HOLDS)
for i = 1, #holds, 2 do
  local hold = hold_of(holds[i + 1])
  in_flight = in_flight + hold.amount
  users[hold.user] = (users[hold.user] or 0) + hold.amount
  redis.call('ZADD', HELD_AT, 'NX', hold.at, holds[i])
end
for _, index in ipairs({HELD_AT, ADMITTING, DEAD_LETTERED}) do
  for _, rid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if redis.call('HEXISTS', HOLDS, rid) == 0 then redis.call('ZREM', index, rid) end
  end
end
redis.call('DEL', USERS)
for user, units in pairs(users) do
  if units > 0 then redis.call('HSET', USERS, user, units) end
end
local stock = plan.total - sold - in_flight
local oversold = 0
if stock < 0 then oversold, stock = -stock, 0 end
local limit = redis.call('HGET', ITEM, 'per_user_limit') or plan.per_user_limit or 1
redis.call('HSET', ITEM, 'stock', stock, 'in_flight', in_flight, 'sold', sold, 'per_user_limit', limit, 'total', plan.total)
return {'REPAIRED', tostring(stock), tostring(in_flight), tostring(sold), tostring(limit), tostring(oversold)}
