-- Prepended to every item script when the scripts are loaded: one item's key layout and its two record
-- formats, written and parsed in this one place.
-- KEYS, in this order, all under the item's hash tag {item} (one cluster slot):
--   1 item:{i}            hash: stock, in_flight, sold, per_user_limit, total, starts_at_ms, ends_at_ms (window)
--   2 item:{i}:users      hash: user_id -> units held or sold to that user
--   3 item:{i}:holds      hash: request_id -> hold (see hold_value)
--   4 item:{i}:held_at    sorted set: request_id by admission time (reservation expiry)
--   5 item:{i}:ledger     hash: request_id -> how the request ended (see entry_value)
--   6 item:{i}:admitting  sorted set: request_id by owner time, for holds not yet on the queue
--   7 item:{i}:rejections hash: reason -> count (the sale report)
--   8 item:{i}:dead_lettered sorted set: request_id by when its message went to the DLQ
local ITEM, USERS, HOLDS, HELD_AT, LEDGER, ADMITTING, REJECTIONS, DEAD_LETTERED =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]

-- The Redis clock: every Lambda and every script agree on it.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A hold: units taken from stock for one request. "user|amount|admitted_ms|owner"; owner is the buy
-- attempt that may still withdraw it.
local function hold_value(user, amount, at, owner)
  return user .. '|' .. amount .. '|' .. at .. '|' .. owner
end
local function hold_of(value)
  if not value then return nil end
  local user, amount, at, owner = string.match(value, '^([^|]*)|(%d+)|(%d+)|?(.*)$')
  return { user = user, amount = tonumber(amount), at = tonumber(at), owner = owner }
end

-- A ledger entry: "OUTCOME|user|amount". OUTCOME is a final status, or CANCELLED for an admission its buy
-- call withdrew (it answered 503): a late message of that call must not take stock, a retry may.
local function entry_value(outcome, user, amount)
  return outcome .. '|' .. user .. '|' .. amount
end
local function entry_of(value)
  if not value then return nil end
  local outcome, user, amount = string.match(value, '^([^|]*)|?([^|]*)|?(%d*)$')
  return { outcome = outcome, user = user ~= '' and user or nil, amount = tonumber(amount) }
end

local function add_to_user(user, units)
  if redis.call('HINCRBY', USERS, user, units) <= 0 then redis.call('HDEL', USERS, user) end
end

local function drop_hold(rid)
  redis.call('HDEL', HOLDS, rid)
  redis.call('ZREM', HELD_AT, rid)
  redis.call('ZREM', ADMITTING, rid)
  redis.call('ZREM', DEAD_LETTERED, rid)
end

-- Held units go back on sale.
local function release(hold)
  redis.call('HINCRBY', ITEM, 'in_flight', -hold.amount)
  redis.call('HINCRBY', ITEM, 'stock', hold.amount)
  add_to_user(hold.user, -hold.amount)
end

