-- Take records the worker could not read out of the flow (the poison-data rule, README).
-- KEYS[1] active list  asynq:{<q>}:active
-- KEYS[2] lease zset  asynq:{<q>}:lease
-- KEYS[3] archived zset  asynq:{<q>}:archived
-- ARGV[1] now, Unix seconds (the archived score)
-- ARGV[2] task key prefix  asynq:{<q>}:t:
-- ARGV[3..] the task IDs (held in active, e.g. claimed with a message that is not protobuf)
-- Returns {id1, outcome1, id2, ...}: "archived" (moved from active/lease to archived, the key left
-- as it is but for state=archived on a hash), "missing" (no key: only removed from active/lease)
-- or "not active" (in neither active nor lease any more: someone else has it, nothing touched).

local res = {}
for i = 3, #ARGV do
    local id = ARGV[i]
    local was = redis.call("LREM", KEYS[1], 0, id) + redis.call("ZREM", KEYS[2], id)
    local outcome = "not active"
    if was > 0 then
        local key = ARGV[2] .. id
        local t = redis.call("TYPE", key)["ok"]
        if t == "none" then
            outcome = "missing"
        else
            redis.call("ZADD", KEYS[3], ARGV[1], id)
            if t == "hash" then
                redis.call("HSET", key, "state", "archived")
            end
            outcome = "archived"
        end
    end
    res[#res + 1] = id
    res[#res + 1] = outcome
end
return res
