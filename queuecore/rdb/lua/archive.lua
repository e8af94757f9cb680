-- Move a failed active task to the archive and trim the archive (spec §4.2 W6).
-- KEYS[1] task hash  asynq:{<q>}:t:<id>
-- KEYS[2] active list  asynq:{<q>}:active
-- KEYS[3] lease zset  asynq:{<q>}:lease
-- KEYS[4] archived zset  asynq:{<q>}:archived
-- KEYS[5] daily processed counter  asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[6] daily failed counter  asynq:{<q>}:failed:<YYYY-MM-DD>
-- KEYS[7] lifetime processed counter  asynq:{<q>}:processed
-- KEYS[8] lifetime failed counter  asynq:{<q>}:failed
-- ARGV[1] task id
-- ARGV[2] encoded TaskMessage (error_msg, last_failed_at updated; retried unchanged)
-- ARGV[3] now, Unix seconds (the archived score)
-- ARGV[4] cutoff = now - 90 days, Unix seconds
-- ARGV[5] cap 10000 (members ranked 0 .. -cap are trimmed: at most cap-1 remain)
-- ARGV[6] stats expiry, Unix seconds (now + 90 days)
-- ARGV[7] MaxInt64
-- ARGV[8] task key prefix  asynq:{<q>}:t:
-- Returns OK; error NOT FOUND when the task is not in active or lease.
-- Trimmed IDs have their task hashes DELeted (as Go >= v0.25). Unlike Go, the IDs leave the zset
-- through ZREMRANGEBY* instead of ZREM unpack(...), so any number of expired IDs is safe
-- (Go fails past ~8 000, spec §8.19); the keys left behind are the same.

if redis.call("LREM", KEYS[2], 0, ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
if redis.call("ZREM", KEYS[3], ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
local old = redis.call("ZRANGE", KEYS[4], "-inf", ARGV[4], "BYSCORE")
if #old > 0 then
    for _, id in ipairs(old) do
        redis.call("DEL", ARGV[8] .. id)
    end
    redis.call("ZREMRANGEBYSCORE", KEYS[4], "-inf", ARGV[4])
end
local extra = redis.call("ZRANGE", KEYS[4], 0, -tonumber(ARGV[5]))
if #extra > 0 then
    for _, id in ipairs(extra) do
        redis.call("DEL", ARGV[8] .. id)
    end
    redis.call("ZREMRANGEBYRANK", KEYS[4], 0, -tonumber(ARGV[5]))
end
redis.call("HSET", KEYS[1], "msg", ARGV[2], "state", "archived")
local n = redis.call("INCR", KEYS[5])
if tonumber(n) == 1 then
    redis.call("EXPIREAT", KEYS[5], ARGV[6])
end
local m = redis.call("INCR", KEYS[6])
if tonumber(m) == 1 then
    redis.call("EXPIREAT", KEYS[6], ARGV[6])
end
local total = redis.call("GET", KEYS[7])
if tonumber(total) == tonumber(ARGV[7]) then
    redis.call("SET", KEYS[7], 1)
    redis.call("SET", KEYS[8], 1)
else
    redis.call("INCR", KEYS[7])
    redis.call("INCR", KEYS[8])
end
return redis.status_reply("OK")
