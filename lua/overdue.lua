-- The sweeper's work list for one item, by the Redis clock: holds whose buy call left them unqueued for longer
-- than ARGV[2] ms ("stale"), and holds older than the reservation TTL ARGV[1] ms ("expired"). At most ARGV[3].
-- Returns a flat list: request_id, kind, hold, ...
local now, limit = now_ms(), tonumber(ARGV[3])
local out, n = {}, 0
for _, rid in ipairs(redis.call('ZRANGEBYSCORE', ADMITTING, '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, limit)) do
  local hold = redis.call('HGET', HOLDS, rid)
  if hold then
    n = n + 1
    out[#out + 1], out[#out + 2], out[#out + 3] = rid, 'stale', hold
  else
    redis.call('ZREM', ADMITTING, rid)
  end
end
if n < limit then
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', HELD_AT, '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, limit - n)) do
    local hold = redis.call('HGET', HOLDS, rid)
    if not hold then
      redis.call('ZREM', HELD_AT, rid)
    elseif not redis.call('ZSCORE', ADMITTING, rid) then
      out[#out + 1], out[#out + 2], out[#out + 3] = rid, 'expired', hold
    end
  end
end
return out
