-- Take units from stock for one request, or say why not. Used at the door (mode "buy") and by the
-- processor (mode "reserve", which confirms the buy's hold, or admits again if Redis lost it).
-- ARGV[1] mode  ARGV[2] request_id  ARGV[3] user_id  ARGV[4] amount  ARGV[5] owner (the buy attempt)
-- ARGV[6] takeover_ms: a hold still not on the queue after this long belongs to a buy call that died; a retry
-- with the same request takes it over.
-- Returns ADMITTED stock_left admitted_ms | TAKEN_OVER admitted_ms | HELD admitted_ms | SETTLED outcome |
--         WITHDRAWN | REUSED | UNKNOWN_ITEM | SOLD_OUT stock_left | PURCHASE_LIMIT_EXCEEDED held per_user_limit
-- At the door, sold-out and over-limit refusals are counted per item here, so that path costs one call.
local mode, rid, user, amount, owner = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local now = now_ms()

local entry = entry_of(redis.call('HGET', LEDGER, rid))
local withdrawn = entry and entry.outcome == 'CANCELLED'
if withdrawn and mode == 'reserve' then return {'WITHDRAWN'} end
if entry and not withdrawn then
  if entry.user and (entry.user ~= user or entry.amount ~= amount) then return {'REUSED'} end
  return {'SETTLED', entry.outcome}
end

local hold = hold_of(redis.call('HGET', HOLDS, rid))
if hold then
  if hold.user ~= user or hold.amount ~= amount then return {'REUSED'} end
  local since = redis.call('ZSCORE', ADMITTING, rid)
  if mode == 'reserve' then
    if since then redis.call('ZREM', ADMITTING, rid) end -- its message is here, so it was enqueued
    return {'HELD', tostring(hold.at)}
  end
  if since and now - tonumber(since) > tonumber(ARGV[6]) then
    redis.call('HSET', HOLDS, rid, hold_value(user, amount, hold.at, owner))
    redis.call('ZADD', ADMITTING, now, rid)
    return {'TAKEN_OVER', tostring(hold.at)}
  end
  return {'HELD', tostring(hold.at)}
end

local item = redis.call('HMGET', ITEM, 'stock', 'per_user_limit')
if not item[1] then return {'UNKNOWN_ITEM'} end
local stock = tonumber(item[1])
if stock < amount then
  if mode == 'buy' then redis.call('HINCRBY', REJECTIONS, 'sold_out', 1) end
  return {'SOLD_OUT', tostring(stock)}
end
local limit = tonumber(item[2] or '1')
local held = tonumber(redis.call('HGET', USERS, user) or '0')
if held + amount > limit then
  if mode == 'buy' then redis.call('HINCRBY', REJECTIONS, 'purchase_limit_exceeded', 1) end
  return {'PURCHASE_LIMIT_EXCEEDED', tostring(held), tostring(limit)}
end

redis.call('HINCRBY', ITEM, 'stock', -amount)
redis.call('HINCRBY', ITEM, 'in_flight', amount)
add_to_user(user, amount)
redis.call('HSET', HOLDS, rid, hold_value(user, amount, now, owner))
redis.call('ZADD', HELD_AT, now, rid)
if mode == 'buy' then redis.call('ZADD', ADMITTING, now, rid) end
if withdrawn then redis.call('HDEL', LEDGER, rid) end
return {'ADMITTED', tostring(stock - amount), tostring(now)}
