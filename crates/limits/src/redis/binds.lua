-- Fleet-wide bind counts. KEYS[i] = hash of one account: field = node id,
-- value = "count:expiry_ms". ARGV[1] = this node, ARGV[2] = ttl_ms, ARGV[2 + i] = this
-- node's binds of account i. Entries of nodes that stopped refreshing expire.
-- Returns per key the binds held by other nodes.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local node = ARGV[1]
local ttl = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS do
  local count = tonumber(ARGV[2 + i])
  if count > 0 then
    redis.call('HSET', KEYS[i], node, count .. ':' .. (now + ttl))
  else
    redis.call('HDEL', KEYS[i], node)
  end
  local others = 0
  local all = redis.call('HGETALL', KEYS[i])
  for j = 1, #all, 2 do
    local c, exp = string.match(all[j + 1], '^(%d+):(%d+)$')
    if c == nil or tonumber(exp) < now then
      redis.call('HDEL', KEYS[i], all[j])
    elseif all[j] ~= node then
      others = others + tonumber(c)
    end
  end
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  out[i] = others
end
return out
