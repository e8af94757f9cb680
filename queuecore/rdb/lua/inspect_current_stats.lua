-- Counts of one queue for GetQueueInfo (asynq's currentStats), tolerant of foreign key types.
-- KEYS[1] pending, KEYS[2] active, KEYS[3] scheduled, KEYS[4] retry, KEYS[5] archived,
-- KEYS[6] completed, KEYS[7] processed:<today>, KEYS[8] failed:<today>, KEYS[9] processed total,
-- KEYS[10] failed total, KEYS[11] paused, KEYS[12] groups, KEYS[13] lease
-- ARGV[1] task key prefix, ARGV[2] group key prefix, ARGV[3] group scan bound (0 = every group, as Go)
-- Returns {pending, active, scheduled, retry, archived, completed, processed, failed,
--          processed_total, failed_total, paused, oldest_pending_since_ns, group_count,
--          aggregating, aggregating_exact (1/0), mistyped}
-- mistyped is a bit mask: bit i-1 is set when KEYS[i] exists with a type asynq never gives it
-- (the counts then read it as empty; the health findings report it).

local function kind(key)
    return redis.call("TYPE", key)["ok"]
end

local function llen(key)
    if kind(key) == "list" then return redis.call("LLEN", key) end
    return 0
end

local function zcard(key)
    if kind(key) == "zset" then return redis.call("ZCARD", key) end
    return 0
end

local function counter(key)
    if kind(key) ~= "string" then return 0 end
    return tonumber(redis.call("GET", key)) or 0
end

local res = {}
res[1] = llen(KEYS[1])
res[2] = llen(KEYS[2])
res[3] = zcard(KEYS[3])
res[4] = zcard(KEYS[4])
res[5] = zcard(KEYS[5])
res[6] = zcard(KEYS[6])
res[7] = counter(KEYS[7])
res[8] = counter(KEYS[8])
res[9] = counter(KEYS[9])
res[10] = counter(KEYS[10])
res[11] = redis.call("EXISTS", KEYS[11])

local oldest = 0
if res[1] > 0 then
    local id = redis.call("LINDEX", KEYS[1], -1)
    local tkey = ARGV[1] .. id
    if kind(tkey) == "hash" then
        oldest = tonumber(redis.call("HGET", tkey, "pending_since")) or 0
    end
end
res[12] = oldest

local group_count = 0
local aggregating = 0
local exact = 1
if kind(KEYS[12]) == "set" then
    group_count = redis.call("SCARD", KEYS[12])
    local bound = tonumber(ARGV[3])
    local names
    if bound > 0 and group_count > bound then
        -- A bounded random sample; the total is extrapolated from it.
        names = redis.call("SRANDMEMBER", KEYS[12], bound)
        exact = 0
    else
        names = redis.call("SMEMBERS", KEYS[12])
    end
    for _, name in ipairs(names) do
        aggregating = aggregating + zcard(ARGV[2] .. name)
    end
    if exact == 0 and #names > 0 then
        aggregating = math.floor(aggregating * group_count / #names)
    end
end
res[13] = group_count
res[14] = aggregating
res[15] = exact

local expected = {"list", "list", "zset", "zset", "zset", "zset", "string", "string", "string",
    "string", false, "set", "zset"}
local mistyped = 0
for i, want in ipairs(expected) do
    if want then
        local t = kind(KEYS[i])
        if t ~= "none" and t ~= want then
            mistyped = mistyped + 2 ^ (i - 1)
        end
    end
end
res[16] = mistyped
return res
