-- Delete one task (asynq's DeleteTask, §4.4 I3); frees its unique lock when it still holds it.
-- KEYS[1] task hash, KEYS[2] groups
-- ARGV[1] task id, ARGV[2] queue key prefix, ARGV[3] group key prefix
-- Returns 1 deleted; 0 no such task; -1 active. A record whose id is missing from its container
-- (asynq's "task is not found in zset") is deleted too, so leaked records can be cleaned up.
-- -4: the key under the id is not a hash (inspect_delete_unreadable.lua deletes such records).

local kind = redis.call("TYPE", KEYS[1])["ok"]
if kind == "none" then
    return 0
elseif kind ~= "hash" then
    return -4
end
local state, group, ukey = unpack(redis.call("HMGET", KEYS[1], "state", "group", "unique_key"))
if state == "active" then
    return -1
end
if state == "pending" then
    redis.call("LREM", ARGV[2] .. "pending", 0, ARGV[1])
elseif state == "aggregating" then
    if redis.call("ZREM", ARGV[3] .. group, ARGV[1]) == 1
        and redis.call("ZCARD", ARGV[3] .. group) == 0 then
        redis.call("SREM", KEYS[2], group)
    end
elseif state then
    redis.call("ZREM", ARGV[2] .. state, ARGV[1])
end
-- Only a lock of this queue (same hash tag) that this task still holds.
if ukey and string.sub(ukey, 1, #ARGV[2]) == ARGV[2] and redis.call("GET", ukey) == ARGV[1] then
    redis.call("DEL", ukey)
end
redis.call("DEL", KEYS[1])
return 1
