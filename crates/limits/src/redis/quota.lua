-- Calendar quota counters over a batch of keys (one key per account, quota and period).
-- ARGV[1] = share: a lease gets at most this share of what is left (at least one unit),
-- so one node cannot take a whole quota from the others.
-- Per key i, ARGV[5i-3..5i+1] = limit, debt, want, returned, ttl_seconds:
--   returned: leased units a node gives back unused (credited first),
--   debt: units that already passed on a node (counted unconditionally),
--   want: units to lease ahead (granted only within the limit).
-- Returns per key {granted, remaining_after, 0}.
local share = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local b = 1 + (i - 1) * 5
  local limit = tonumber(ARGV[b + 1])
  local debt = tonumber(ARGV[b + 2])
  local want = tonumber(ARGV[b + 3])
  local returned = tonumber(ARGV[b + 4])
  local ttl = tonumber(ARGV[b + 5])
  local used = (tonumber(redis.call('GET', KEYS[i])) or 0) - returned
  if used < 0 then used = 0 end
  used = used + debt
  local avail = limit - used
  if avail < 0 then avail = 0 end
  local fair = math.max(1, math.floor(avail * share))
  local granted = math.min(want, avail, fair)
  used = used + granted
  avail = avail - granted
  redis.call('SET', KEYS[i], used, 'EX', ttl)
  out[i] = {granted, avail, 0}
end
return out
