-- Decide whether a group is ready and, if so, stage its tasks in a new aggregation set
-- (spec §4.3 M4).
-- KEYS[1] group zset  asynq:{<q>}:g:<group>
-- KEYS[2] new aggregation set  asynq:{<q>}:g:<group>:<set id>
-- KEYS[3] aggregation sets zset  asynq:{<q>}:aggregation_sets
-- KEYS[4] group names set  asynq:{<q>}:groups
-- ARGV[1] max size (0 = unlimited)
-- ARGV[2] max delay, seconds (0 = none)
-- ARGV[3] grace period, seconds
-- ARGV[4] set expiry, Unix seconds (now + 2 min)
-- ARGV[5] now, Unix seconds
-- ARGV[6] group name
-- Returns 1 when a set was staged in KEYS[2]; 0 otherwise.

local size = redis.call("ZCARD", KEYS[1])
if size == 0 then
    return 0
end
local maxSize = tonumber(ARGV[1])
local maxDelay = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local now = tonumber(ARGV[5])

local function stage(count)
    local members = redis.call("ZRANGE", KEYS[1], 0, count - 1, "WITHSCORES")
    for i = 1, #members, 2 do
        redis.call("ZADD", KEYS[2], members[i + 1], members[i])
    end
    redis.call("ZREMRANGEBYRANK", KEYS[1], 0, count - 1)
    redis.call("ZADD", KEYS[3], ARGV[4], KEYS[2])
end

if maxSize ~= 0 and size >= maxSize then
    stage(maxSize)
    if size == maxSize then
        redis.call("SREM", KEYS[4], ARGV[6])
    end
    return 1
end
local count = size
if maxSize ~= 0 then
    count = maxSize
end
if maxDelay ~= 0 then
    local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
    if tonumber(oldest[2]) <= now - maxDelay then
        stage(count)
        if size <= maxSize or maxSize == 0 then
            redis.call("SREM", KEYS[4], ARGV[6])
        end
        return 1
    end
end
local newest = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
if tonumber(newest[2]) <= now - grace then
    stage(count)
    if size <= maxSize or maxSize == 0 then
        redis.call("SREM", KEYS[4], ARGV[6])
    end
    return 1
end
return 0
