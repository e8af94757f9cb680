-- Move one chunk of a state zset (scheduled/retry/archived/completed or a group) to pending
-- (asynq's RunAll*Tasks, §4.4 I4, done in bounded chunks).
-- KEYS[1] source zset, KEYS[2] pending, KEYS[3] groups
-- ARGV[1] task key prefix, ARGV[2] chunk size, ARGV[3] group name ("" unless the source is a group)
-- Returns {moved, skipped}: skipped ids had no task record and are only removed from the source.
-- Lowest scores are taken first and LPUSHed first, so they run first, as in asynq.

local ids = redis.call("ZRANGE", KEYS[1], 0, tonumber(ARGV[2]) - 1)
local moved, skipped = 0, 0
for _, id in ipairs(ids) do
    local tkey = ARGV[1] .. id
    if redis.call("EXISTS", tkey) == 1 then
        redis.call("LPUSH", KEYS[2], id)
        redis.call("HSET", tkey, "state", "pending")
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
