-- Add a task to a group under a unique lock (spec §4.1 E4, add to group unique).
-- KEYS[1] task hash  asynq:{<q>}:t:<id>
-- KEYS[2] group zset  asynq:{<q>}:g:<group>
-- KEYS[3] group names set  asynq:{<q>}:groups
-- KEYS[4] unique lock  asynq:{<q>}:unique:<type>:<md5hex(payload)>
-- ARGV[1] encoded TaskMessage
-- ARGV[2] task id
-- ARGV[3] now, Unix seconds (integer score)
-- ARGV[4] group name
-- ARGV[5] lock TTL, whole seconds (>= 1)
-- Returns 1 when added; -1 when the lock is held (duplicate); 0 on an ID conflict.

local locked = redis.call("SET", KEYS[4], ARGV[2], "NX", "EX", ARGV[5])
if not locked then
    return -1
end
if redis.call("EXISTS", KEYS[1]) == 1 then
    -- Unlike Go (spec §8.14), free the lock this script just took: the task was not written.
    redis.call("DEL", KEYS[4])
    return 0
end
-- Like Go, no "unique_key" hash field here (spec §8.15), so DeleteTask cannot free this lock;
-- it expires with its TTL.
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "aggregating", "group", ARGV[4])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[4])
return 1
