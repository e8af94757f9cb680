-- Add a task to a group, where it waits for aggregation (spec §4.1 E4).
-- KEYS[1] task hash  asynq:{<q>}:t:<id>
-- KEYS[2] group zset  asynq:{<q>}:g:<group>
-- KEYS[3] group names set  asynq:{<q>}:groups
-- ARGV[1] encoded TaskMessage
-- ARGV[2] task id
-- ARGV[3] now, Unix seconds (integer score)
-- ARGV[4] group name
-- Returns 1 when added; 0 when a task with this id exists in any state (ID conflict).

if redis.call("EXISTS", KEYS[1]) == 1 then
    return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "aggregating", "group", ARGV[4])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[4])
return 1
