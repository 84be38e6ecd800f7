-- Operator: set the remaining stock and the per-user limit of an item.
-- ARGV[1] stock  ARGV[2] per_user_limit
-- In-flight and sold counts are kept: they belong to orders already admitted.
-- `total` (stock + in_flight + sold) records the units on sale, so reconcile can tell a drifted stock count.
redis.call('HSET', ITEM, 'stock', ARGV[1], 'per_user_limit', ARGV[2])
redis.call('HSETNX', ITEM, 'in_flight', 0)
redis.call('HSETNX', ITEM, 'sold', 0)
local levels = redis.call('HMGET', ITEM, 'in_flight', 'sold')
redis.call('HSET', ITEM, 'total', tonumber(ARGV[1]) + tonumber(levels[1]) + tonumber(levels[2]))
return redis.call('HMGET', ITEM, 'stock', 'in_flight', 'sold', 'per_user_limit')
