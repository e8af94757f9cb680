-- One step of DeleteQueue (asynq §4.4 I9). Non-force: refuse a non-empty queue (O(1) counts, not
-- asynq's O(N) id collection). Force: refuse while tasks are active, otherwise delete up to a chunk
-- of task records per call; the caller repeats until it gets 1.
-- KEYS[1] pending, KEYS[2] active, KEYS[3] scheduled, KEYS[4] retry, KEYS[5] archived, KEYS[6] lease
-- ARGV[1] "1" to force, ARGV[2] task key prefix, ARGV[3] chunk size
-- Returns 1 the six keys are deleted; 2 a chunk of records was deleted, call again;
-- -1 not empty (non-force); -2 active tasks (force)

local function size(key)
    local t = redis.call("TYPE", key)["ok"]
    if t == "list" then return redis.call("LLEN", key) end
    if t == "zset" then return redis.call("ZCARD", key) end
    return 0
end

if ARGV[1] ~= "1" then
    for i = 1, 5 do
        if size(KEYS[i]) > 0 then
            return -1
        end
    end
else
    if size(KEYS[2]) > 0 then
        return -2
    end
    local budget = tonumber(ARGV[3])
    local ids = redis.call("LRANGE", KEYS[1], -budget, -1)
    if #ids > 0 then
        redis.call("LTRIM", KEYS[1], 0, -budget - 1)
    else
        for i = 3, 5 do
            ids = redis.call("ZRANGE", KEYS[i], 0, budget - 1)
            if #ids > 0 then
                redis.call("ZREMRANGEBYRANK", KEYS[i], 0, #ids - 1)
                break
            end
        end
    end
    if #ids > 0 then
        for _, id in ipairs(ids) do
            redis.call("DEL", ARGV[2] .. id)
        end
        return 2
    end
end
redis.call("DEL", KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return 1
