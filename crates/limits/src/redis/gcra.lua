-- GCRA over a batch of keys, in Redis time (microseconds). The value of a key is the
-- theoretical arrival time (TAT) of its next unit.
-- Per key i, ARGV[5i-4..5i] = interval_us, burst, debt, want, returned:
--   returned: leased units a node gives back unused (credited first),
--   debt: units that already passed on a node (charged unconditionally),
--   want: units to lease ahead (granted only within the burst; a lease larger than the
--         burst is granted whole from a full bucket, as the local GCRA does).
-- Returns per key {granted, available_after, retry_after_us}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i = 1, #KEYS do
  local b = (i - 1) * 5
  local interval = tonumber(ARGV[b + 1])
  local burst = tonumber(ARGV[b + 2])
  local debt = tonumber(ARGV[b + 3])
  local want = tonumber(ARGV[b + 4])
  local returned = tonumber(ARGV[b + 5])
  local limit = burst * interval
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  tat = tat - returned * interval
  if tat < now then tat = now end
  tat = tat + debt * interval
  local avail = math.floor((now + limit - tat) / interval + 1e-9)
  if avail < 0 then avail = 0 end
  local granted = math.min(want, avail)
  if want > burst and tat <= now then granted = want end
  tat = tat + granted * interval
  avail = math.floor((now + limit - tat) / interval + 1e-9)
  if avail < 0 then avail = 0 end
  local retry = 0
  if avail == 0 then
    retry = math.ceil(tat + interval - limit - now)
    if retry < 0 then retry = 0 end
  end
  if tat > now then
    redis.call('SET', KEYS[i], string.format('%.17g', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
  else
    redis.call('DEL', KEYS[i])
  end
  out[i] = {granted, avail, retry}
end
return out
