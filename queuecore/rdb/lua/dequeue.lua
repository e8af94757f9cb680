-- Claim up to N pending tasks of one queue for processing (spec §4.2 W1, batched).
-- KEYS[1] pending list  asynq:{<q>}:pending
-- KEYS[2] paused flag  asynq:{<q>}:paused
-- KEYS[3] active list  asynq:{<q>}:active
-- KEYS[4] lease zset  asynq:{<q>}:lease
-- KEYS[5] archived zset  asynq:{<q>}:archived (where unreadable records are quarantined)
-- ARGV[1] lease expiry, Unix seconds (integer; now + 30 s)
-- ARGV[2] task key prefix  asynq:{<q>}:t:
-- ARGV[3] the most tasks to claim (N >= 1)
-- ARGV[4] now, Unix seconds (the archived score of a quarantined record)
-- Returns nil when the queue is paused; an error "WRONGTYPE queue key ..." (nothing touched) when
-- one of the queue's keys holds a foreign type; otherwise {claimed, quarantined}: claimed is
-- {id1, msg1, id2, msg2, ...}, quarantined is {id1, reason1, ...} with reason "missing" (the ID
-- named no key and was dropped) or "no msg" / "type <t>" (the ID was moved to archived, its key
-- left as it is).
-- For readable tasks the end state is exactly N of Go's single dequeues (RPOPLPUSH from the right,
-- i.e. the oldest; state=active; pending_since deleted; lease = ARGV[1]), reached with one RPOP of
-- N, one LPUSH and one ZADD per 500 tasks instead of one of each per task (Redis 6.2+): the IDs
-- land at the head of active in the order N RPOPLPUSHes leave them. Unlike Go, an ID that cannot
-- be run (no key, a key of another type, a hash without msg) never enters active: Go would leave
-- it there for good (a stub hash, or a WRONGTYPE error half-way through its batch).

if redis.call("EXISTS", KEYS[2]) == 1 then
    return false
end
local wanted = {{KEYS[1], "list"}, {KEYS[3], "list"}, {KEYS[4], "zset"}, {KEYS[5], "zset"}}
for _, pair in ipairs(wanted) do
    local t = redis.call("TYPE", pair[1])["ok"]
    if t ~= pair[2] and t ~= "none" then
        return redis.error_reply("WRONGTYPE queue key " .. pair[1] .. " holds a " .. t)
    end
end
local ids = redis.call("RPOP", KEYS[1], tonumber(ARGV[3]))
if not ids then
    return {{}, {}}
end
local claimed, quarantined, good = {}, {}, {}
for _, id in ipairs(ids) do
    local key = ARGV[2] .. id
    -- pcall: HGET on a key of another type is an error reply, not a script abort.
    local msg = redis.pcall("HGET", key, "msg")
    if type(msg) == "string" then
        good[#good + 1] = id
        claimed[#claimed + 1] = id
        claimed[#claimed + 1] = msg
    else
        local t = redis.call("TYPE", key)["ok"]
        quarantined[#quarantined + 1] = id
        if t == "none" then
            quarantined[#quarantined + 1] = "missing"
        else
            redis.call("ZADD", KEYS[5], ARGV[4], id)
            if t == "hash" then
                redis.call("HSET", key, "state", "archived")
                quarantined[#quarantined + 1] = "no msg"
            else
                quarantined[#quarantined + 1] = "type " .. t
            end
        end
    end
end
local chunk = 500
for first = 1, #good, chunk do
    local last = math.min(first + chunk - 1, #good)
    local lease = {}
    for i = first, last do
        lease[#lease + 1] = ARGV[1]
        lease[#lease + 1] = good[i]
    end
    redis.call("LPUSH", KEYS[3], unpack(good, first, last))
    redis.call("ZADD", KEYS[4], unpack(lease))
end
for _, id in ipairs(good) do
    local key = ARGV[2] .. id
    redis.call("HSET", key, "state", "active")
    redis.call("HDEL", key, "pending_since")
end
return {claimed, quarantined}
