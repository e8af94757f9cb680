-- Archive one task (asynq's ArchiveTask, §4.4 I2), deleting the records of tasks the trim drops.
-- KEYS[1] task hash, KEYS[2] archived, KEYS[3] groups
-- ARGV[1] task id, ARGV[2] now (Unix s), ARGV[3] cutoff = now - 90 days, ARGV[4] cap (10000),
-- ARGV[5] queue key prefix, ARGV[6] group key prefix, ARGV[7] task key prefix
-- Returns 1 archived; 0 no such task; -1 already archived; -2 active; -3 the id is not in the
-- container its state names (nothing is changed)
-- -4 the key under the id is not a hash (unreadable: delete it by id; README, "Poison data")

local kind = redis.call("TYPE", KEYS[1])["ok"]
if kind == "none" then
    return 0
elseif kind ~= "hash" then
    return -4
end
local state, group = unpack(redis.call("HMGET", KEYS[1], "state", "group"))
if state == "active" then
    return -2
elseif state == "archived" then
    return -1
end
if not state or (state == "aggregating" and not group) then
    return -3
end
local n
if state == "pending" then
    n = redis.call("LREM", ARGV[5] .. "pending", 1, ARGV[1])
elseif state == "aggregating" then
    n = redis.call("ZREM", ARGV[6] .. group, ARGV[1])
    if n == 1 and redis.call("ZCARD", ARGV[6] .. group) == 0 then
        redis.call("SREM", KEYS[3], group)
    end
else
    n = redis.call("ZREM", ARGV[5] .. state, ARGV[1])
end
if n == 0 then
    return -3
end
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
redis.call("HSET", KEYS[1], "state", "archived")

-- Trim by age and by size like asynq, but also delete the trimmed records (asynq leaks them).
local function drop(ids)
    for _, id in ipairs(ids) do
        local tkey = ARGV[7] .. id
        -- pcall: HGET on a key of another type is an error reply; such a key goes too.
        local state = redis.pcall("HGET", tkey, "state")
        if state == "archived" or type(state) == "table" then
            redis.call("DEL", tkey)
        end
    end
end
drop(redis.call("ZRANGE", KEYS[2], "-inf", ARGV[3], "BYSCORE"))
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", ARGV[3])
drop(redis.call("ZRANGE", KEYS[2], 0, -tonumber(ARGV[4])))
redis.call("ZREMRANGEBYRANK", KEYS[2], 0, -tonumber(ARGV[4]))
return 1
