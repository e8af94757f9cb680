-- Give an unfinished active task back to pending at shutdown, next in line (spec §4.2 W7).
-- KEYS[1] active list  asynq:{<q>}:active
-- KEYS[2] lease zset  asynq:{<q>}:lease
-- KEYS[3] pending list  asynq:{<q>}:pending
-- KEYS[4] task hash  asynq:{<q>}:t:<id>
-- ARGV[1] task id
-- Returns OK; error NOT FOUND when the task is not in active or lease. No pending_since, no
-- counters.

if redis.call("LREM", KEYS[1], 0, ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
if redis.call("ZREM", KEYS[2], ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
redis.call("RPUSH", KEYS[3], ARGV[1])
redis.call("HSET", KEYS[4], "state", "pending")
return redis.status_reply("OK")
