-- Move one chunk of a state zset (scheduled/retry/archived/completed or a group) to pending
-- (asynq's RunAll*Tasks, §4.4 I4, done in bounded chunks).
-- KEYS[1] source zset, KEYS[2] pending, KEYS[3] groups
-- ARGV[1] task key prefix, ARGV[2] chunk size, ARGV[3] group name ("" unless the source is a group)
-- Returns {moved, skipped}: skipped ids had no task record and are only removed from the source.
-- A key of another type under a task id moves like a task but keeps its type (no state field);
-- the worker's claim then quarantines it (README, "Poison data"), so one bad id fails nothing.
-- Lowest scores are taken first and LPUSHed first, so they run first, as in asynq.

local ids = redis.call("ZRANGE", KEYS[1], 0, tonumber(ARGV[2]) - 1)
local moved, skipped = 0, 0
for _, id in ipairs(ids) do
    local tkey = ARGV[1] .. id
    local t = redis.call("TYPE", tkey)["ok"]
    if t ~= "none" then
        redis.call("LPUSH", KEYS[2], id)
        if t == "hash" then
            redis.call("HSET", tkey, "state", "pending")
        end
        moved = moved + 1
    else
        skipped = skipped + 1
    end
end
if #ids > 0 then
    redis.call("ZREMRANGEBYRANK", KEYS[1], 0, #ids - 1)
end
if ARGV[3] ~= "" and redis.call("ZCARD", KEYS[1]) == 0 then
    redis.call("SREM", KEYS[3], ARGV[3])
end
return {moved, skipped}
