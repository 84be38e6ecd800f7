-- The buyer's side of the door, in the user's slot: refuse a request_id this user already had accepted for
-- another item or amount, then a sliding-window log rate limit. One call for both.
-- KEYS[1] user:{<user_id>}:rate (sorted set of request times in microseconds)
-- KEYS[2] user:{<user_id>}:req:<request_id> ("item|amount" of an accepted request; see RedisRequestRegistry)
-- ARGV[1] window_ms  ARGV[2] max_requests  ARGV[3] unique member  ARGV[4] "item|amount" of this request
-- Returns {1, remaining} when allowed, {0, retry_after_ms} when limited, {2, 0} when the request_id is reused.
-- Uses the server clock so that Lambdas with skewed clocks share one window.
local accepted = redis.call('GET', KEYS[2])
if accepted and accepted ~= ARGV[4] then return {2, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1]) * 1000
local max = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= max then
  -- The window frees a slot when its oldest request ages out.
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait_us = tonumber(oldest[2]) + window - now
  return {0, math.max(1, math.ceil(wait_us / 1000))}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return {1, max - count - 1}
