-- Delete an aggregated set and its member tasks once the aggregate was enqueued (spec §4.3 M4).
-- KEYS[1] aggregation set  asynq:{<q>}:g:<group>:<set id>
-- KEYS[2] aggregation sets zset  asynq:{<q>}:aggregation_sets
-- ARGV[1] task key prefix  asynq:{<q>}:t:
-- Returns OK. Unique locks of the members are not freed (as Go).

local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    redis.call("DEL", ARGV[1] .. id)
end
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], KEYS[1])
return redis.status_reply("OK")
