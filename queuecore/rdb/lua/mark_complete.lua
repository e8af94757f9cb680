-- Keep a successfully processed task as completed until its retention ends (spec §4.2 W4).
-- KEYS[1] active list  asynq:{<q>}:active
-- KEYS[2] lease zset  asynq:{<q>}:lease
-- KEYS[3] completed zset  asynq:{<q>}:completed
-- KEYS[4] task hash  asynq:{<q>}:t:<id>
-- KEYS[5] daily processed counter  asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] lifetime processed counter  asynq:{<q>}:processed
-- KEYS[7] (optional) the task's unique-lock key
-- ARGV[1] task id
-- ARGV[2] stats expiry, Unix seconds (now + 90 days)
-- ARGV[3] completed score = now + retention, Unix seconds
-- ARGV[4] encoded TaskMessage with completed_at set
-- ARGV[5] MaxInt64
-- Returns OK; error NOT FOUND when the task is not in active or lease; INTERNAL when it already
-- was in completed. The failed counters are never touched.

if redis.call("LREM", KEYS[1], 0, ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
if redis.call("ZREM", KEYS[2], ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
if redis.call("ZADD", KEYS[3], ARGV[3], ARGV[1]) ~= 1 then
    return redis.error_reply("INTERNAL")
end
redis.call("HSET", KEYS[4], "msg", ARGV[4], "state", "completed")
local n = redis.call("INCR", KEYS[5])
if tonumber(n) == 1 then
    redis.call("EXPIREAT", KEYS[5], ARGV[2])
end
local total = redis.call("GET", KEYS[6])
if tonumber(total) == tonumber(ARGV[5]) then
    redis.call("SET", KEYS[6], 1)
else
    redis.call("INCR", KEYS[6])
end
if KEYS[7] and redis.call("GET", KEYS[7]) == ARGV[1] then
    redis.call("DEL", KEYS[7])
end
return redis.status_reply("OK")
