-- Move one task to pending (asynq's RunTask, §4.4 I1), completed tasks included.
-- KEYS[1] task hash, KEYS[2] pending, KEYS[3] groups
-- ARGV[1] task id, ARGV[2] queue key prefix, ARGV[3] group key prefix
-- Returns 1 moved; 0 no such task; -1 active; -2 already pending; -3 the id is not in the
-- container its state names (a dangling record: nothing is changed)
-- -4 the key under the id is not a hash (unreadable: delete it by id; README, "Poison data")

local kind = redis.call("TYPE", KEYS[1])["ok"]
if kind == "none" then
    return 0
elseif kind ~= "hash" then
    return -4
end
local state, group = unpack(redis.call("HMGET", KEYS[1], "state", "group"))
if state == "active" then
    return -1
elseif state == "pending" then
    return -2
end
if not state or (state == "aggregating" and not group) then
    return -3
end
local n
if state == "aggregating" then
    n = redis.call("ZREM", ARGV[3] .. group, ARGV[1])
    if n == 1 and redis.call("ZCARD", ARGV[3] .. group) == 0 then
        redis.call("SREM", KEYS[3], group)
    end
else
    n = redis.call("ZREM", ARGV[2] .. state, ARGV[1])
end
if n == 0 then
    return -3
end
redis.call("LPUSH", KEYS[2], ARGV[1])
redis.call("HSET", KEYS[1], "state", "pending")
return 1
