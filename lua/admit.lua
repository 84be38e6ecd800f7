-- Take units from stock for one request, or say why not. Used at the door (mode "buy") and by the
-- processor (mode "reserve", which confirms the buy's hold, or admits again if Redis lost it).
-- KEYS[9] item:{i}:rate:<user>: at the door, the user's sliding-window log for this item (request times in us).
-- ARGV[1] mode  ARGV[2] request_id  ARGV[3] user_id  ARGV[4] amount  ARGV[5] owner (the buy attempt)
-- ARGV[6] takeover_ms: a hold still not on the queue after this long belongs to a buy call that died; a retry
-- with the same request takes it over.
-- ARGV[7] rate window ms  ARGV[8] rate max requests  ARGV[9] sold-out refusals the caller's near-cache answered
-- since it last asked, counted here so that they cost no call of their own (door only)
-- Returns ADMITTED stock_left admitted_ms | TAKEN_OVER admitted_ms | HELD admitted_ms | SETTLED outcome |
--         WITHDRAWN | REUSED | UNKNOWN_ITEM | SOLD_OUT stock_left | PURCHASE_LIMIT_EXCEEDED held per_user_limit |
--         RATE_LIMITED retry_after_ms | NOT_STARTED starts_at_ms now_ms | ENDED
-- The whole door is this one call: every refusal is counted per item here (the sale report), in the same call.
local mode, rid, user, amount, owner = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local door = mode == 'buy'
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now = math.floor(now_us / 1000)
local function refuse(reason, ...)
  if door then redis.call('HINCRBY', REJECTIONS, reason, 1) end
  return {...}
end

local item = redis.call('HMGET', ITEM, 'stock', 'per_user_limit', 'starts_at_ms', 'ends_at_ms')
if door and not item[1] then return {'UNKNOWN_ITEM'} end -- first, so that junk item ids create no keys
if door and tonumber(ARGV[9]) > 0 then redis.call('HINCRBY', REJECTIONS, 'sold_out', ARGV[9]) end

if door then
  -- Sliding-window log per user and item, by the Redis clock so that Lambdas with skewed clocks share one window.
  local rate, window, max = KEYS[9], tonumber(ARGV[7]) * 1000, tonumber(ARGV[8])
  redis.call('ZREMRANGEBYSCORE', rate, '-inf', now_us - window)
  if redis.call('ZCARD', rate) >= max then
    local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES') -- its slot frees when the oldest ages out
    return refuse('rate_limited', 'RATE_LIMITED', tostring(math.max(1, math.ceil((tonumber(oldest[2]) + window - now_us) / 1000))))
  end
  redis.call('ZADD', rate, now_us, owner)
  redis.call('PEXPIRE', rate, tonumber(ARGV[7]))
end

local entry = entry_of(redis.call('HGET', LEDGER, rid))
local withdrawn = entry and entry.outcome == 'CANCELLED'
if withdrawn and mode == 'reserve' then return {'WITHDRAWN'} end
if entry and not withdrawn then
  if entry.user and (entry.user ~= user or entry.amount ~= amount) then return refuse('idempotency_key_reused', 'REUSED') end
  return refuse('duplicate_request', 'SETTLED', entry.outcome)
end

local hold = hold_of(redis.call('HGET', HOLDS, rid))
if hold then
  if hold.user ~= user or hold.amount ~= amount then return refuse('idempotency_key_reused', 'REUSED') end
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
  return refuse('duplicate_request', 'HELD', tostring(hold.at))
end

if not item[1] then return {'UNKNOWN_ITEM'} end
-- The sale window, at the door only: an order admitted inside it settles whenever its message arrives.
if door and item[3] and now < tonumber(item[3]) then return refuse('sale_not_started', 'NOT_STARTED', item[3], tostring(now)) end
if door and item[4] and now >= tonumber(item[4]) then return refuse('sale_ended', 'ENDED') end
local stock = tonumber(item[1])
if stock < amount then return refuse('sold_out', 'SOLD_OUT', tostring(stock)) end
local limit = tonumber(item[2] or '1')
local held = tonumber(redis.call('HGET', USERS, user) or '0')
if held + amount > limit then return refuse('purchase_limit_exceeded', 'PURCHASE_LIMIT_EXCEEDED', tostring(held), tostring(limit)) end

redis.call('HINCRBY', ITEM, 'stock', -amount)
redis.call('HINCRBY', ITEM, 'in_flight', amount)
add_to_user(user, amount)
redis.call('HSET', HOLDS, rid, hold_value(user, amount, now, owner))
redis.call('ZADD', HELD_AT, now, rid)
if door then redis.call('ZADD', ADMITTING, now, rid) end
if withdrawn then redis.call('HDEL', LEDGER, rid) end
return {'ADMITTED', tostring(stock - amount), tostring(now)}
