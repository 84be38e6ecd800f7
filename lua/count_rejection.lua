-- Count a refused buy against its item, for the sale report (CloudWatch counts every rejection; this keeps
-- per-item counts where there is no CloudWatch). Only items on sale are counted, so junk item ids create no keys.
-- KEYS[1] item:{<item>}  KEYS[2] item:{<item>}:rejections (hash: reason -> count)
-- ARGV[1] reason
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[2], ARGV[1], 1) end
return 0
