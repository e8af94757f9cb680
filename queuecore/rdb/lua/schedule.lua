-- Schedule a task to be processed at a future time (spec §4.1 E3).
-- KEYS[1] task hash  asynq:{<q>}:t:<id>
-- KEYS[2] scheduled zset  asynq:{<q>}:scheduled
-- ARGV[1] encoded TaskMessage
-- ARGV[2] process-at, Unix seconds (integer score)
-- ARGV[3] task id
-- Returns 1 when scheduled; 0 when a task with this id exists in any state (ID conflict).

if redis.call("EXISTS", KEYS[1]) == 1 then
    return 0
end
-- No "group" field even when the message has a group_key: asynq's forwarder then sends the task
-- to pending, never to its group (spec §8.12). Kept for compatibility.
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "scheduled")
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[3])
return 1
