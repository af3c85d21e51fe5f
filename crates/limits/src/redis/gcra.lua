-- GCRA over a batch of keys, in Redis time (microseconds).
-- Per key i, ARGV[4i-3..4i] = interval_us, burst, debt, want.
--   debt: units that already passed on a node (charged unconditionally),
--   want: units to lease ahead (granted only while within the burst).
-- Returns per key {granted, available_after, retry_after_us}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i = 1, #KEYS do
  local b = (i - 1) * 4
  local interval = tonumber(ARGV[b + 1])
  local burst = tonumber(ARGV[b + 2])
  local debt = tonumber(ARGV[b + 3])
  local want = tonumber(ARGV[b + 4])
  local limit = burst * interval
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  tat = tat + debt * interval
  local avail = math.floor((now + limit - tat) / interval + 1e-9)
  if avail < 0 then avail = 0 end
  local granted = math.min(want, avail)
  tat = tat + granted * interval
  avail = avail - granted
  local retry = 0
  if avail == 0 then
    retry = math.ceil(tat + interval - limit - now)
    if retry < 0 then retry = 0 end
  end
  if tat > now then
    redis.call('SET', KEYS[i], string.format('%.17g', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
  end
  out[i] = {granted, avail, retry}
end
return out
