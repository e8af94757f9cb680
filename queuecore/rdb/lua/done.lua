-- Acknowledge successfully processed tasks of one queue: delete them (spec §4.2 W3, batched).
-- KEYS[1] active list  asynq:{<q>}:active
-- KEYS[2] lease zset  asynq:{<q>}:lease
-- KEYS[3] daily processed counter  asynq:{<q>}:processed:<YYYY-MM-DD>
-- KEYS[4] lifetime processed counter  asynq:{<q>}:processed
-- KEYS[5..] per task, in ARGV order: its hash asynq:{<q>}:t:<id>, then its unique-lock key when
--           that task's flag is 1
-- ARGV[1] stats expiry, Unix seconds (now + 90 days; EXPIREAT when the daily key is created)
-- ARGV[2] MaxInt64 (the lifetime counter wraps to 1 there)
-- ARGV[3..] per task: id, unique flag ("1" = a unique-lock key follows its hash in KEYS)
-- Returns an array with one code per task: 1 done; 0 not in active, -1 not in lease, -2 hash
-- missing (Go's NOT FOUND at steps 1, 2, 3; like Go, earlier steps stay applied).
-- The counters end exactly where one Go done per task leaves them, counted once per batch: the
-- daily key gets INCRBY (EXPIREAT when this batch created it), the lifetime key INCRBY unless it
-- is near MaxInt64, where Go's per-task wrap-to-1 rule is applied one task at a time.

local codes = {}
local done = 0
local k = 5
for i = 3, #ARGV, 2 do
    local id = ARGV[i]
    local hash = KEYS[k]
    local lock = nil
    k = k + 1
    if ARGV[i + 1] == "1" then
        lock = KEYS[k]
        k = k + 1
    end
    local code = 1
    if redis.call("LREM", KEYS[1], 0, id) == 0 then
        code = 0
    elseif redis.call("ZREM", KEYS[2], id) == 0 then
        code = -1
    elseif redis.call("DEL", hash) == 0 then
        code = -2
    end
    if code == 1 then
        done = done + 1
        if lock and redis.call("GET", lock) == id then
            redis.call("DEL", lock)
        end
    end
    codes[#codes + 1] = code
end
if done > 0 then
    if redis.call("INCRBY", KEYS[3], done) == done then
        redis.call("EXPIREAT", KEYS[3], ARGV[1])
    end
    local total = tonumber(redis.call("GET", KEYS[4]) or "0")
    local max = tonumber(ARGV[2])
    if total and total < max - 4096 then
        redis.call("INCRBY", KEYS[4], done)
    else
        for _ = 1, done do
            if tonumber(redis.call("GET", KEYS[4])) == max then
                redis.call("SET", KEYS[4], 1)
            else
                redis.call("INCR", KEYS[4])
            end
        end
    end
end
return codes
