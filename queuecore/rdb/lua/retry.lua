-- Move a failed active task to the retry zset (spec §4.2 W5).
-- KEYS[1] task hash  asynq:{<q>}:t:<id>
-- KEYS[2] active list  asynq:{<q>}:active
-- KEYS[3] lease zset  asynq:{<q>}:lease
-- KEYS[4] retry zset  asynq:{<q>}:retry
-- KEYS[5] daily processed counter  asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] daily failed counter  asynq:{<q>}:failed:<YYYY-MM-DD>
-- KEYS[7] lifetime processed counter  asynq:{<q>}:processed
-- KEYS[8] lifetime failed counter  asynq:{<q>}:failed
-- ARGV[1] task id
-- ARGV[2] encoded TaskMessage (retried, error_msg, last_failed_at updated)
-- ARGV[3] retry at, Unix seconds
-- ARGV[4] stats expiry, Unix seconds (now + 90 days)
-- ARGV[5] is failure: "1" counts the failure, "0" does not
-- ARGV[6] MaxInt64 (both lifetime counters wrap to 1 when processed reaches it)
-- Returns OK; error NOT FOUND when the task is not in active or lease. The unique lock is kept.

if redis.call("LREM", KEYS[2], 0, ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
if redis.call("ZREM", KEYS[3], ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
redis.call("HSET", KEYS[1], "msg", ARGV[2], "state", "retry")
if tonumber(ARGV[5]) == 1 then
    local n = redis.call("INCR", KEYS[5])
    if tonumber(n) == 1 then
        redis.call("EXPIREAT", KEYS[5], ARGV[4])
    end
    local m = redis.call("INCR", KEYS[6])
    if tonumber(m) == 1 then
        redis.call("EXPIREAT", KEYS[6], ARGV[4])
    end
    local total = redis.call("GET", KEYS[7])
    if tonumber(total) == tonumber(ARGV[6]) then
        redis.call("SET", KEYS[7], 1)
        redis.call("SET", KEYS[8], 1)
    else
        redis.call("INCR", KEYS[7])
        redis.call("INCR", KEYS[8])
    end
end
return redis.status_reply("OK")
