import { IP_BUCKETS, SESSION_BUCKETS } from './redis-layout';

/** Sessions expired per ZRANGEBYSCORE batch; stays well below Lua's limit on unpack(). */
export const SWEEP_BATCH = 5000;
/** Change feed entries older than this are trimmed; a reader further behind reads a snapshot. */
export const FEED_RETENTION_MS = 60_000;

/**
 * Shared prelude of the scripts, all of which work on one shard. KEYS: meta hash (revision, tag of
 * the latest change, lease), expiry ZSET ("field|ip|version" by seenAt: a refresh with the same IP
 * and version is one ZADD), per-version counts, change feed stream. ARGV[1]: the prefix of the shard's bucket keys: `s:<n>` hashes hold the sessions (field
 * -> "ip|version"), `i:<n>` hashes the per-IP counts. Small hashes keep Redis's compact encoding;
 * the bucket of a session field is computed from its first four characters, the bucket of an IP
 * from its SHA-1. An IP never contains "|" or ",".
 *
 * Every call that changes a count adds one entry to the change feed: its revision (one more than
 * the last), a tag the caller made up for it, and the per-IP deltas "ip,delta,ip,delta". A reader
 * that knows the entry it read last, and finds it again with the same tag, continues from there;
 * after a rollback of Redis (a failover that lost writes, a restore from a snapshot) that entry is
 * gone or has another tag, and the reader reads a snapshot instead.
 *
 * A shard found inconsistent (a session without its record, counts that do not add up: keys were
 * lost) is cleared: its history starts again, and every reader reads a snapshot.
 */
export const PRELUDE = `
local meta, expiry, versions, feed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local base = ARGV[1]
local byte, sub, find = string.byte, string.sub, string.find

-- Points the functions below at the shard whose keys start at KEYS[first].
local function useShard(first, bucketBase)
  meta, expiry, versions, feed = KEYS[first], KEYS[first + 1], KEYS[first + 2], KEYS[first + 3]
  base = bucketBase
end

local function sessionsKey(field)
  local a, b, c, d = byte(field, 1, 4)
  return base .. 's:' .. ((((a * 31 + b) * 31 + c) * 31 + d) % ${SESSION_BUCKETS})
end

local function ipsKey(ip)
  return base .. 'i:' .. (tonumber(sub(redis.sha1hex(ip), 1, 6), 16) % ${IP_BUCKETS})
end

local function serverMs()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

local changedIps, ipDeltas, versionsChanged, created, damaged

local function reset()
  changedIps, ipDeltas, versionsChanged, created, damaged = {}, {}, false, {}, nil
end
reset()

local function countIp(ip, delta)
  local key = ipsKey(ip)
  local count = redis.call('HINCRBY', key, ip, delta)
  if count <= 0 then
    redis.call('HDEL', key, ip)
  elseif count == delta and redis.call('HLEN', key) == 1 then
    created[key] = true
  end
  local known = ipDeltas[ip]
  if known == nil then
    changedIps[#changedIps + 1] = ip
    ipDeltas[ip] = delta
  else
    ipDeltas[ip] = known + delta
  end
end

local function countVersion(version, delta)
  versionsChanged = true
  if redis.call('HINCRBY', versions, version, delta) <= 0 then redis.call('HDEL', versions, version) end
end

local function count(record, delta)
  local bar = find(record, '|', 1, true)
  countIp(sub(record, 1, bar - 1), delta)
  countVersion(sub(record, bar + 1), delta)
end

local swept = 0

-- Expires up to \`batches\` batches of due sessions; true when more are due.
local function sweep(cutoff, batches)
  for _ = 1, batches do
    local due = redis.call('ZRANGEBYSCORE', expiry, '-inf', cutoff, 'LIMIT', 0, ${SWEEP_BATCH})
    swept = swept + #due
    if #due == 0 then return false end
    for i = 1, #due do
      local bar = find(due[i], '|', 1, true)
      local field = sub(due[i], 1, bar - 1)
      if redis.call('HDEL', sessionsKey(field), field) == 1 then
        count(sub(due[i], bar + 1), -1)
      else
        damaged = 'a session due to expire has no record'
      end
    end
    redis.call('ZREM', expiry, unpack(due))
    if #due < ${SWEEP_BATCH} then return false end
  end
  return true
end

local function bucketKeys()
  local keys = {}
  for i = 0, ${SESSION_BUCKETS} - 1 do keys[#keys + 1] = base .. 's:' .. i end
  for i = 0, ${IP_BUCKETS} - 1 do keys[#keys + 1] = base .. 'i:' .. i end
  return keys
end

local function wipe()
  local keys = bucketKeys()
  keys[#keys + 1] = meta
  keys[#keys + 1] = expiry
  keys[#keys + 1] = versions
  keys[#keys + 1] = feed
  for i = 1, #keys, 512 do redis.call('DEL', unpack(keys, i, math.min(i + 511, #keys))) end
  reset()
end

-- Records this call's changes as the next revision, under the caller's tag.
local function commit(tag)
  if #changedIps == 0 and not versionsChanged then return end
  local revision = redis.call('HINCRBY', meta, 'revision', 1)
  redis.call('HSET', meta, 'tag', tag)
  local parts = {}
  for _, ip in ipairs(changedIps) do
    local delta = ipDeltas[ip]
    if delta ~= 0 then
      parts[#parts + 1] = ip
      parts[#parts + 1] = delta
    end
  end
  redis.call('XADD', feed, 'MINID', '~', serverMs() - ${FEED_RETENTION_MS}, '*', 'r', revision, 't', tag, 'd', table.concat(parts, ','))
end

-- Keys live \`lifetime\` ms past the last write, so the keys of an abandoned prefix leave Redis on
-- their own. New bucket keys get it at once; every key gets it again twice per lifetime.
local function keepAlive(lifetime)
  for key in pairs(created) do redis.call('PEXPIRE', key, lifetime) end
  local now = serverMs()
  local lease = tonumber(redis.call('HGET', meta, 'lease') or '0')
  if lease - now > lifetime / 2 then return end
  local keys = bucketKeys()
  keys[#keys + 1] = expiry
  keys[#keys + 1] = versions
  keys[#keys + 1] = feed
  for _, key in ipairs(keys) do redis.call('PEXPIRE', key, lifetime) end
  redis.call('HSET', meta, 'lease', now + lifetime)
  redis.call('PEXPIRE', meta, lifetime)
end

local function late(deadline)
  return deadline > 0 and serverMs() > deadline
end
`;
