"""The Lua scripts that make lease checks and publishes atomic in Redis.

A lease is ``SET lease "{token}:{member}" NX PX ttl`` with ``token`` drawn from a
per-topic counter, so every new owner has a larger fencing token. A publish
runs only if the lease still holds the publisher's exact value, and stamps each
entry with Redis's own clock (``pub_ts``) and the token.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "PUBLISH", "RELEASE", "RENEW"]

ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
local value = token .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[2])
return value
"""

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: lease, stream, snapshot. ARGV: lease value, trim kind ("" | MAXLEN | AGE), trim amount,
# entry count, then per entry: its field count and fields; then the snapshot's field count and fields.
PUBLISH = """
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then return {-1, holder or ''} end
local token = string.match(ARGV[1], '^(%d+):')
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local trim = {}
if ARGV[2] == 'MAXLEN' then trim = {'MAXLEN', '~', ARGV[3]}
elseif ARGV[2] == 'AGE' then trim = {'MINID', '~', tostring(now - tonumber(ARGV[3])) .. '-0'} end
local i = 5
local last = false
for e = 1, tonumber(ARGV[4]) do
  local k = tonumber(ARGV[i]); i = i + 1
  local args = {'XADD', KEYS[2]}
  for _, v in ipairs(trim) do args[#args + 1] = v end
  args[#args + 1] = '*'
  for j = 0, k - 1 do args[#args + 1] = ARGV[i + j] end
  i = i + k
  args[#args + 1] = 'pub_ts'; args[#args + 1] = tostring(now)
  args[#args + 1] = 'token'; args[#args + 1] = token
  last = redis.call(unpack(args))
end
local s = tonumber(ARGV[i]); i = i + 1
if s > 0 then
  local args = {'HSET', KEYS[3]}
  for j = 0, s - 1 do args[#args + 1] = ARGV[i + j] end
  if not last then
    local tail = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
    last = tail[1] and tail[1][1] or '0-0'
  end
  args[#args + 1] = 'id'; args[#args + 1] = last
  args[#args + 1] = 'pub_ts'; args[#args + 1] = tostring(now)
  args[#args + 1] = 'token'; args[#args + 1] = token
  redis.call(unpack(args))
end
return {now, last or ''}
"""
