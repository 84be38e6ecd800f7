-- What a storefront may see of an item, with the Redis clock that admission uses: stock left, sale window.
-- Returns {} for an unknown item, else {stock, starts_at_ms or '', ends_at_ms or '', now_ms}.
local v = redis.call('HMGET', ITEM, 'stock', 'starts_at_ms', 'ends_at_ms')
if not v[1] then return {} end
return {v[1], v[2] or '', v[3] or '', tostring(now_ms())}
