-- The sweeper's work list for one item, by the Redis clock, at most ARGV[4] holds:
-- "stale":   admitted, but left unqueued by its buy call for longer than ARGV[2] ms;
-- "expired": its order can no longer be delivered: the message went to the DLQ more than ARGV[1] ms ago (the
--            reservation TTL), or the hold is older than the queue's retention ARGV[3] ms. A hold whose message is
--            merely waiting in a backlog is neither;
-- "check":   on the queue for longer than the TTL: the sweeper asks the order record (a cache restored from a lagging
--            copy brings back holds of orders that settled since) and leaves it alone if the order is still open.
-- Returns a flat list: request_id, kind, hold, ...
local now, limit = now_ms(), tonumber(ARGV[4])
local out, n = {}, 0
local seen = {}
local function add(rid, kind)
  local hold = redis.call('HGET', HOLDS, rid)
  if not hold then
    redis.call('ZREM', ADMITTING, rid)
    redis.call('ZREM', DEAD_LETTERED, rid)
    redis.call('ZREM', HELD_AT, rid)
    return
  end
  if seen[rid] then return end
  seen[rid] = true
  n = n + 1
  out[#out + 1], out[#out + 2], out[#out + 3] = rid, kind, hold
end
for _, rid in ipairs(redis.call('ZRANGEBYSCORE', ADMITTING, '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, limit)) do add(rid, 'stale') end
if n < limit then
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', DEAD_LETTERED, '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, limit - n)) do add(rid, 'expired') end
end
if n < limit then
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', HELD_AT, '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, limit - n)) do
    if not redis.call('ZSCORE', ADMITTING, rid) then add(rid, 'expired') end
  end
end
if n < limit then
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', HELD_AT, '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, limit - n)) do
    if not redis.call('ZSCORE', ADMITTING, rid) then add(rid, 'check') end
  end
end
return out
