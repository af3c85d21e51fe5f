-- Calendar quota counters over a batch of keys (one key per account, quota and period).
-- Per key i, ARGV[4i-3..4i] = limit, debt, want, ttl_seconds.
--   debt: units that already passed on a node (counted unconditionally),
--   want: units to reserve ahead (granted only within the limit).
-- Returns per key {granted, remaining_after, 0}.
local out = {}
for i = 1, #KEYS do
  local b = (i - 1) * 4
  local limit = tonumber(ARGV[b + 1])
  local debt = tonumber(ARGV[b + 2])
  local want = tonumber(ARGV[b + 3])
  local ttl = tonumber(ARGV[b + 4])
  local used = (tonumber(redis.call('GET', KEYS[i])) or 0) + debt
  local avail = limit - used
  if avail < 0 then avail = 0 end
  local granted = math.min(want, avail)
  used = used + granted
  avail = avail - granted
  redis.call('SET', KEYS[i], used, 'EX', ttl)
  out[i] = {granted, avail, 0}
end
return out
