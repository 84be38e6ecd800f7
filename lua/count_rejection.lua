-- Count a refused buy against its item, for the sale report (CloudWatch counts every rejection; this keeps
-- per-item counts where there is no CloudWatch). Only items on sale are counted, so junk item ids create no keys.
-- ARGV[1] reason
if redis.call('EXISTS', ITEM) == 1 then redis.call('HINCRBY', REJECTIONS, ARGV[1], 1) end
return 0
