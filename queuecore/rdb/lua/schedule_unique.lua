-- Schedule a task under a unique lock (spec §4.1 E3, schedule unique).
-- KEYS[1] unique lock  asynq:{<q>}:unique:<type>:<md5hex(payload)>
-- KEYS[2] task hash  asynq:{<q>}:t:<id>
-- KEYS[3] scheduled zset  asynq:{<q>}:scheduled
-- ARGV[1] task id
-- ARGV[2] lock TTL, whole seconds: (process-at - now) + unique TTL, truncated
-- ARGV[3] process-at, Unix seconds (integer score)
-- ARGV[4] encoded TaskMessage
-- Returns 1 when scheduled; -1 when the lock is held (duplicate); 0 on an ID conflict.

local locked = redis.call("SET", KEYS[1], ARGV[1], "NX", "EX", ARGV[2])
if not locked then
    return -1
end
if redis.call("EXISTS", KEYS[2]) == 1 then
    -- Unlike Go (spec §8.14), free the lock this script just took: the task was not written.
    redis.call("DEL", KEYS[1])
    return 0
end
redis.call("HSET", KEYS[2], "msg", ARGV[4], "state", "scheduled", "unique_key", KEYS[1])
redis.call("ZADD", KEYS[3], ARGV[3], ARGV[1])
return 1
