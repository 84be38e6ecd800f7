-- Undo an admission that never reached the queue.
-- ARGV[1] request_id  ARGV[2] owner: the buy attempt that could not enqueue withdraws its own hold, and leaves a
-- CANCELLED entry so that a message it may have sent after all is dropped. With owner "" (the sweeper), only a
-- hold its owner left unqueued for longer than ARGV[3] ms is released, and no entry is left: if its message
-- does arrive, the processor admits it again.
-- Returns WITHDRAWN user amount admitted_ms | QUEUED (its message reached the processor) | NOT_OWNER | NOT_STALE | NONE
local rid, owner = ARGV[1], ARGV[2]
local hold = hold_of(redis.call('HGET', HOLDS, rid))
local since = redis.call('ZSCORE', ADMITTING, rid)
if not hold then
  local entry = entry_of(redis.call('HGET', LEDGER, rid))
  if entry and entry.outcome ~= 'CANCELLED' then return {'QUEUED'} end
  return {'NONE'}
end
if not since then return {'QUEUED'} end
if owner ~= '' and hold.owner ~= owner then return {'NOT_OWNER'} end
if owner == '' and now_ms() - tonumber(since) <= tonumber(ARGV[3]) then return {'NOT_STALE'} end
drop_hold(rid)
release(hold)
if owner ~= '' then redis.call('HSET', LEDGER, rid, entry_value('CANCELLED', hold.user, hold.amount)) end
return {'WITHDRAWN', hold.user, tostring(hold.amount), tostring(hold.at)}
