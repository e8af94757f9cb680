-- Claim up to N pending tasks of one queue for processing (spec §4.2 W1, batched).
-- KEYS[1] pending list  asynq:{<q>}:pending
-- KEYS[2] paused flag  asynq:{<q>}:paused
-- KEYS[3] active list  asynq:{<q>}:active
-- KEYS[4] lease zset  asynq:{<q>}:lease
-- ARGV[1] lease expiry, Unix seconds (integer; now + 30 s)
-- ARGV[2] task key prefix  asynq:{<q>}:t:
-- ARGV[3] the most tasks to claim (N >= 1)
-- Returns nil when the queue is paused; otherwise an array of the claimed tasks' msg (possibly empty).
-- Each claim is exactly Go's single dequeue: RPOPLPUSH from the right (oldest), state=active,
-- pending_since deleted, lease = ARGV[1]. An ID without a hash keeps Go's stub behaviour: it stays
-- in active and lease with a hash holding only state, and is not returned.

if redis.call("EXISTS", KEYS[2]) == 1 then
    return false
end
local claimed = {}
for _ = 1, tonumber(ARGV[3]) do
    local id = redis.call("RPOPLPUSH", KEYS[1], KEYS[3])
    if not id then
        break
    end
    local key = ARGV[2] .. id
    redis.call("HSET", key, "state", "active")
    redis.call("HDEL", key, "pending_since")
    redis.call("ZADD", KEYS[4], ARGV[1], id)
    local msg = redis.call("HGET", key, "msg")
    if msg then
        claimed[#claimed + 1] = msg
    end
end
return claimed
