import { IP_BUCKETS } from './redis-layout';
import { PRELUDE, SWEEP_BATCH } from './redis-scripts.prelude';

/** Change feed entries per page of a read. One entry holds the changes of one script call. */
export const FEED_PAGE = 50;

/**
 * ARGV: bucket prefix, sweep cutoff, key lifetime ms, tag, deadline (server time in ms, 0 for
 * none), then the sessions as one JSON array of [field, seenAt, "ip|version"] (seenAt as text: Lua
 * would print a large number in exponent form). A call that starts past its deadline changes
 * nothing and answers { 'late' }: its caller has reported it failed. Otherwise { 'ok', server time }.
 * The newest seenAt wins, and on a tie the later one; a newer sighting with the same IP and
 * version only moves the session in time and keeps the revision.
 */
export const UPSERT_SCRIPT = `${PRELUDE}
if late(tonumber(ARGV[5])) then return { 'late' } end
local rows = cjson.decode(ARGV[6])

local function apply()
  sweep(tonumber(ARGV[2]), 1)
  for _, row in ipairs(rows) do
    local field, seenAtText, record = row[1], row[2], row[3]
    local member = field .. '|' .. record
    -- 0: the session is known with this IP and version; at most its time moved (GT keeps the newest).
    if redis.call('ZADD', expiry, 'GT', seenAtText, member) == 1 then
      local key = sessionsKey(field)
      local oldRecord = redis.call('HGET', key, field)
      local newest = true
      if oldRecord == record then
        damaged = 'a record without its session'
      elseif oldRecord then
        local oldMember = field .. '|' .. oldRecord
        local oldSeenAt = redis.call('ZSCORE', expiry, oldMember)
        if not oldSeenAt then
          damaged = 'a record without its session'
        elseif tonumber(oldSeenAt) > tonumber(seenAtText) then
          newest = false -- an older sighting with another IP or version: the stored one stays
          redis.call('ZREM', expiry, member)
        else
          redis.call('ZREM', expiry, oldMember) -- as old or older: this one decides (the later call wins)
          count(oldRecord, -1)
        end
      end
      if newest then
        if redis.call('HSET', key, field, record) == 1 and redis.call('HLEN', key) == 1 then created[key] = true end
        count(record, 1)
      end
    end
  end
end

apply()
if damaged then
  wipe()
  apply()
end
commit(ARGV[4])
keepAlive(tonumber(ARGV[3]))
return { 'ok', serverMs() }
`;

/** ARGV: bucket prefix, unused, key lifetime ms, tag, deadline, then session fields. Unknown fields are ignored. */
export const REMOVE_SCRIPT = `${PRELUDE}
if late(tonumber(ARGV[5])) then return { 'late' } end
for i = 6, #ARGV do
  local field = ARGV[i]
  local key = sessionsKey(field)
  local record = redis.call('HGET', key, field)
  if record then
    if redis.call('ZREM', expiry, field .. '|' .. record) == 0 then damaged = 'a record without its session' end
    count(record, -1)
    redis.call('HDEL', key, field)
  end
end
if damaged then wipe() else commit(ARGV[4]) end
return { 'ok', serverMs() }
`;

/**
 * ARGV: bucket prefix, sweep cutoff, tag for the sweep's changes, mode, then for mode "changes" the
 * position read last: stream id, revision, tag. Sweeps first; while sessions are left to expire it
 * answers { 'more' }. A shard found inconsistent is cleared and answers { 'again' }. Then:
 * - "revision": { 'revision', "revision:tag" };
 * - "changes": { 'changes', revision, total, flat per-version counts, "ip,delta,...", stream id,
 *   revision, tag of the last entry read, 1 when nothing is left to read } or { 'stale' } when the
 *   position is not in this shard's history (any more);
 * - "snapshot": { 'snapshot', revision, total, flat per-version counts, "ip,count,...", stream id,
 *   revision, tag of the position the counts are at }.
 */
export const READ_SCRIPT = `${PRELUDE}
local more = sweep(tonumber(ARGV[2]), 2)
if damaged then
  wipe()
  return { 'again' }
end
commit(ARGV[3])
if more then return { 'more' } end

local state = redis.call('HMGET', meta, 'revision', 'tag')
local revision, tag = tonumber(state[1] or '0'), state[2] or ''
local shardRevision = revision .. ':' .. tag
local mode = ARGV[4]
if mode == 'revision' then return { 'revision', shardRevision } end

local total = redis.call('ZCARD', expiry)
local versionCounts = redis.call('HGETALL', versions)
local versionTotal = 0
for i = 2, #versionCounts, 2 do versionTotal = versionTotal + tonumber(versionCounts[i]) end
if versionTotal ~= total then
  wipe()
  return { 'again' }
end

local function fieldOf(entry, name)
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

if mode == 'changes' then
  local id, position = ARGV[5], tonumber(ARGV[6])
  if position > 0 then
    local own = redis.call('XRANGE', feed, id, id)
    if #own ~= 1 or fieldOf(own[1], 't') ~= ARGV[7] or tonumber(fieldOf(own[1], 'r')) ~= position then
      return { 'stale' }
    end
  end
  local entries = redis.call('XRANGE', feed, '(' .. id, '+', 'COUNT', ${FEED_PAGE})
  local parts = {}
  local lastId, lastRevision, lastTag = id, position, ARGV[7]
  for _, entry in ipairs(entries) do
    local entryRevision = tonumber(fieldOf(entry, 'r'))
    if entryRevision ~= lastRevision + 1 then return { 'stale' } end
    local deltas = fieldOf(entry, 'd')
    if deltas ~= '' then parts[#parts + 1] = deltas end
    lastId, lastRevision, lastTag = entry[1], entryRevision, fieldOf(entry, 't')
  end
  local complete = #entries < ${FEED_PAGE}
  if complete and lastRevision ~= revision then return { 'stale' } end
  return { 'changes', shardRevision, total, versionCounts, table.concat(parts, ','), lastId, lastRevision, lastTag,
    complete and 1 or 0 }
end

-- A snapshot: every per-IP count, at the shard's current revision.
local parts = {}
local ipTotal = 0
for i = 0, ${IP_BUCKETS} - 1 do
  local flat = redis.call('HGETALL', base .. 'i:' .. i)
  for j = 1, #flat, 2 do
    parts[#parts + 1] = flat[j]
    parts[#parts + 1] = flat[j + 1]
    ipTotal = ipTotal + tonumber(flat[j + 1])
  end
end
if ipTotal ~= total then
  wipe()
  return { 'again' }
end
local id = '0-0'
if revision > 0 then
  local last = redis.call('XREVRANGE', feed, '+', '-', 'COUNT', 1)
  if #last == 1 and tonumber(fieldOf(last[1], 'r')) == revision and fieldOf(last[1], 't') == tag then
    id = last[1][1]
  else
    -- The feed lost its latest entry (its key was lost): anchor the current revision in it again,
    -- so that readers continue from this snapshot rather than read one on every call.
    id = redis.call('XADD', feed, '*', 'r', revision, 't', tag, 'd', '')
  end
end
return { 'snapshot', shardRevision, total, versionCounts, table.concat(parts, ','), id, revision, tag }
`;

/**
 * The revisions of several shards in one call, where Redis allows it (not on a cluster, whose
 * scripts stay within one slot). KEYS: the four keys of each shard in turn. ARGV: sweep cutoff,
 * tag for the sweeps' changes, then each shard's bucket prefix. Answers { 'revision', "rev:tag,..." },
 * { 'more' } while sessions are left to expire, or { 'again' } after clearing an inconsistent shard.
 */
export const REVISIONS_SCRIPT = `${PRELUDE}
local revisions = {}
local cutoff, tag = tonumber(ARGV[1]), ARGV[2]
local more, again = false, false
for shard = 1, #ARGV - 2 do
  useShard(shard * 4 - 3, ARGV[shard + 2])
  reset()
  if swept < ${SWEEP_BATCH * 2} and sweep(cutoff, 1) then more = true end
  if swept >= ${SWEEP_BATCH * 2} and #redis.call('ZRANGEBYSCORE', expiry, '-inf', cutoff, 'LIMIT', 0, 1) > 0 then more = true end
  if damaged then
    wipe()
    again = true
  else
    commit(tag)
  end
  local state = redis.call('HMGET', meta, 'revision', 'tag')
  revisions[#revisions + 1] = (state[1] or '0') .. ':' .. (state[2] or '')
end
if again then return { 'again' } end
if more then return { 'more' } end
return { 'revision', table.concat(revisions, ',') }
`;
