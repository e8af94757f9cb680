-- Delete one batch of completed tasks whose retention has ended (spec §4.3 M3).
-- KEYS[1] completed zset  asynq:{<q>}:completed
-- ARGV[1] now, Unix seconds (expired when score <= now)
-- ARGV[2] task key prefix  asynq:{<q>}:t:
-- ARGV[3] batch size (100)
-- Returns the number of tasks deleted; callers repeat until it is 0.

local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
    redis.call("DEL", ARGV[2] .. id)
    redis.call("ZREM", KEYS[1], id)
end
return #ids
