-- Archive one chunk of pending (oldest first), scheduled, retry or a group (asynq's
-- ArchiveAll*Tasks, §4.4 I5, in bounded chunks), deleting the records the archive trim drops.
-- KEYS[1] source (pending list or a state / group zset), KEYS[2] archived, KEYS[3] groups
-- ARGV[1] task key prefix, ARGV[2] chunk size, ARGV[3] now (Unix s), ARGV[4] cutoff = now - 90 days,
-- ARGV[5] cap (10000), ARGV[6] "list" or "zset", ARGV[7] group name ("" unless a group)
-- Returns {moved, skipped}: skipped ids had no task record and are only removed from the source.
-- A key of another type under a task id is archived like a task but keeps its type (no state
-- field), and is deleted when the trim drops it; one bad id fails nothing.

local chunk = tonumber(ARGV[2])
local ids
if ARGV[6] == "list" then
    ids = redis.call("LRANGE", KEYS[1], -chunk, -1)
    redis.call("LTRIM", KEYS[1], 0, -chunk - 1)
else
    ids = redis.call("ZRANGE", KEYS[1], 0, chunk - 1)
    if #ids > 0 then
        redis.call("ZREMRANGEBYRANK", KEYS[1], 0, #ids - 1)
    end
end
local moved, skipped = 0, 0
for _, id in ipairs(ids) do
    local tkey = ARGV[1] .. id
    local t = redis.call("TYPE", tkey)["ok"]
    if t ~= "none" then
        redis.call("ZADD", KEYS[2], ARGV[3], id)
        if t == "hash" then
            redis.call("HSET", tkey, "state", "archived")
        end
        moved = moved + 1
    else
        skipped = skipped + 1
    end
end
if ARGV[7] ~= "" and redis.call("ZCARD", KEYS[1]) == 0 then
    redis.call("SREM", KEYS[3], ARGV[7])
end

local function drop(trimmed)
    for _, id in ipairs(trimmed) do
        local tkey = ARGV[1] .. id
        -- pcall: HGET on a key of another type is an error reply; such a key goes too.
        local state = redis.pcall("HGET", tkey, "state")
        if state == "archived" or type(state) == "table" then
            redis.call("DEL", tkey)
        end
    end
end
drop(redis.call("ZRANGE", KEYS[2], "-inf", ARGV[4], "BYSCORE"))
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", ARGV[4])
drop(redis.call("ZRANGE", KEYS[2], 0, -tonumber(ARGV[5])))
redis.call("ZREMRANGEBYRANK", KEYS[2], 0, -tonumber(ARGV[5]))
return {moved, skipped}
