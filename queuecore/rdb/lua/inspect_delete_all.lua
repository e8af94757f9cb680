-- Delete one chunk of a state's tasks (asynq's DeleteAll*Tasks, §4.4 I6, in bounded chunks),
-- freeing each task's unique lock when the task still holds it (asynq does so for zset states).
-- KEYS[1] source (pending list or a state / group zset), KEYS[2] groups
-- ARGV[1] task key prefix, ARGV[2] chunk size, ARGV[3] "list" or "zset",
-- ARGV[4] group name ("" unless a group), ARGV[5] queue key prefix
-- Returns {deleted, skipped}: skipped ids had no task record and are only removed from the source.
-- A key of another type under a task id is deleted like a task (it holds no unique lock).

local chunk = tonumber(ARGV[2])
local ids
if ARGV[3] == "list" then
    ids = redis.call("LRANGE", KEYS[1], -chunk, -1)
    redis.call("LTRIM", KEYS[1], 0, -chunk - 1)
else
    ids = redis.call("ZRANGE", KEYS[1], 0, chunk - 1)
    if #ids > 0 then
        redis.call("ZREMRANGEBYRANK", KEYS[1], 0, #ids - 1)
    end
end
local deleted, skipped = 0, 0
for _, id in ipairs(ids) do
    local tkey = ARGV[1] .. id
    -- pcall: HGET on a key of another type is an error reply (a table), not a lock name.
    local ukey = redis.pcall("HGET", tkey, "unique_key")
    if type(ukey) == "string" and string.sub(ukey, 1, #ARGV[5]) == ARGV[5] and redis.call("GET", ukey) == id then
        redis.call("DEL", ukey)
    end
    if redis.call("DEL", tkey) == 1 then
        deleted = deleted + 1
    else
        skipped = skipped + 1
    end
end
if ARGV[4] ~= "" and redis.call("ZCARD", KEYS[1]) == 0 then
    redis.call("SREM", KEYS[2], ARGV[4])
end
return {deleted, skipped}
