-- Idempotency claim on a request_id, checked against the payload it first came with.
-- KEYS[1] req:{<request_id>}  hash: u, i, a (payload), s (admitting|queued), t (accepted_at ISO), c (ms)
-- ARGV[1] user_id ARGV[2] item_id ARGV[3] amount ARGV[4] ttl_s ARGV[5] accepted_at ARGV[6] takeover_ms
-- Returns {CLAIMED, accepted_at} | {DUPLICATE, accepted_at} | {REUSED, ''}
-- A claim stuck in "admitting" longer than takeover_ms belongs to a buy call that died before it
-- could enqueue; the retry takes it over so the order is not lost.
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'u', 'i', 'a', 's', 't', 'c')
if cur[1] then
  if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] or cur[3] ~= ARGV[3] then return {'REUSED', ''} end
  if cur[4] == 'admitting' and now_ms - tonumber(cur[6]) > tonumber(ARGV[6]) then
    redis.call('HSET', KEYS[1], 'c', now_ms)
    return {'CLAIMED', cur[5]}
  end
  return {'DUPLICATE', cur[5]}
end
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'i', ARGV[2], 'a', ARGV[3], 's', 'admitting', 't', ARGV[5], 'c', now_ms)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {'CLAIMED', ARGV[5]}
