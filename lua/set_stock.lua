-- Operator: set the remaining stock, the per-user limit and the sale window of an item.
-- ARGV[1] stock  ARGV[2] per_user_limit  ARGV[3] starts_at_ms  ARGV[4] ends_at_ms ('' for no bound)
-- In-flight and sold counts are kept: they belong to orders already admitted.
-- `total` (stock + in_flight + sold) records the units on sale, so reconcile can tell a drifted stock count.
redis.call('HSET', ITEM, 'stock', ARGV[1], 'per_user_limit', ARGV[2])
redis.call('HSETNX', ITEM, 'in_flight', 0)
redis.call('HSETNX', ITEM, 'sold', 0)
for i, field in ipairs({'starts_at_ms', 'ends_at_ms'}) do
  if ARGV[2 + i] == '' then redis.call('HDEL', ITEM, field) else redis.call('HSET', ITEM, field, ARGV[2 + i]) end
end
local levels = redis.call('HMGET', ITEM, 'in_flight', 'sold')
redis.call('HSET', ITEM, 'total', tonumber(ARGV[1]) + tonumber(levels[1]) + tonumber(levels[2]))
return redis.call('HMGET', ITEM, 'stock', 'in_flight', 'sold', 'per_user_limit', 'starts_at_ms', 'ends_at_ms')
