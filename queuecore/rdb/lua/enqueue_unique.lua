-- Enqueue a task for immediate processing under a unique lock (spec §4.1 E2).
-- KEYS[1] unique lock  asynq:{<q>}:unique:<type>:<md5hex(payload)>
-- KEYS[2] task hash  asynq:{<q>}:t:<id>
-- KEYS[3] pending list  asynq:{<q>}:pending
-- ARGV[1] task id
-- ARGV[2] lock TTL, whole seconds (>= 1)
-- ARGV[3] encoded TaskMessage
-- ARGV[4] now, Unix nanoseconds (pending_since)
-- Returns 1 when enqueued; -1 when the lock is held (duplicate); 0 on an ID conflict.

local locked = redis.call("SET", KEYS[1], ARGV[1], "NX", "EX", ARGV[2])
if not locked then
    return -1
end
if redis.call("EXISTS", KEYS[2]) == 1 then
    -- Go keeps the lock it just took until the TTL runs out (spec §8.14); we took it a moment
    -- ago in this same atomic script, so releasing it cannot hurt another task.
    redis.call("DEL", KEYS[1])
    return 0
end
redis.call("HSET", KEYS[2], "msg", ARGV[3], "state", "pending", "pending_since", ARGV[4],
    "unique_key", KEYS[1])
redis.call("LPUSH", KEYS[3], ARGV[1])
return 1
