-- Claim up to N pending tasks of one queue for processing (spec §4.2 W1, batched).
-- KEYS[1] pending list  asynq:{<q>}:pending
-- KEYS[2] paused flag  asynq:{<q>}:paused
-- KEYS[3] active list  asynq:{<q>}:active
-- KEYS[4] lease zset  asynq:{<q>}:lease
-- ARGV[1] lease expiry, Unix seconds (integer; now + 30 s)
-- ARGV[2] task key prefix  asynq:{<q>}:t:
-- ARGV[3] the most tasks to claim (N >= 1)
-- Returns nil when the queue is paused; otherwise an array of the claimed tasks' msg (possibly empty).
-- The end state is exactly N of Go's single dequeues (RPOPLPUSH from the right, i.e. the oldest;
-- state=active; pending_since deleted; lease = ARGV[1]), reached with one RPOP of N, one LPUSH
-- and one ZADD per 500 tasks instead of one of each per task (Redis 6.2+): the IDs land at the
-- head of active in the order N RPOPLPUSHes leave them. An ID without a hash keeps Go's stub
-- behaviour: it stays in active and lease with a hash holding only state, and is not returned.

if redis.call("EXISTS", KEYS[2]) == 1 then
    return false
end
local ids = redis.call("RPOP", KEYS[1], tonumber(ARGV[3]))
if not ids then
    return {}
end
local claimed = {}
local chunk = 500
for first = 1, #ids, chunk do
    local last = math.min(first + chunk - 1, #ids)
    local lease = {}
    for i = first, last do
        lease[#lease + 1] = ARGV[1]
        lease[#lease + 1] = ids[i]
    end
    redis.call("LPUSH", KEYS[3], unpack(ids, first, last))
    redis.call("ZADD", KEYS[4], unpack(lease))
end
for _, id in ipairs(ids) do
    local key = ARGV[2] .. id
    redis.call("HSET", key, "state", "active")
    redis.call("HDEL", key, "pending_since")
    local msg = redis.call("HGET", key, "msg")
    if msg then
        claimed[#claimed + 1] = msg
    end
end
return claimed
