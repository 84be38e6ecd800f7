-- Reservation expiry (the sweeper): release admissions older than ttl_ms that were never settled,
-- for example because their message sits in the DLQ. Each is released exactly like settle FAILED_EXPIRED:
-- units back to stock, the user's count down, and a ledger entry so a late or redriven delivery cannot take stock.
-- KEYS: the same five item keys as admit.lua.
-- ARGV[1] ttl_ms  ARGV[2] limit (at most this many per call; the caller loops)
-- Returns a flat list: request_id, user_id, amount, admitted_ms, request_id, ...
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now_ms - tonumber(ARGV[1])
local rids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, rid in ipairs(rids) do
  redis.call('ZREM', KEYS[4], rid)
  local hold = redis.call('HGET', KEYS[3], rid)
  if hold then
    local user, amount, at = string.match(hold, '^([^|]*)|(%d+)|(%d+)$')
    amount = tonumber(amount)
    redis.call('HDEL', KEYS[3], rid)
    redis.call('HINCRBY', KEYS[1], 'in_flight', -amount)
    redis.call('HINCRBY', KEYS[1], 'stock', amount)
    if redis.call('HINCRBY', KEYS[2], user, -amount) <= 0 then redis.call('HDEL', KEYS[2], user) end
    redis.call('HSET', KEYS[5], rid, 'FAILED_EXPIRED')
    table.insert(out, rid)
    table.insert(out, user)
    table.insert(out, tostring(amount))
    table.insert(out, at)
  end
end
return out
