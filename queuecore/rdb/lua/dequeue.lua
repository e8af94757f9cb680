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
-- i.e. the oldest; state=active; pending_since deleted; lease = ARGV[1]), reached with one LRANGE
-- and one LTRIM of N, one LPUSH and one ZADD per 500 tasks instead of one of each per task: the
-- IDs land at the head of active in the order N RPOPLPUSHes leave them. Unlike Go, an ID that
-- cannot be run (no key, a key of another type, a hash without msg) never enters active: Go would
-- leave it there for good (a stub hash, or a WRONGTYPE error half-way through its batch).
-- Every step that can meet a foreign type comes before the first write, or undoes its own write
-- (the LPUSH, when the lease ZADD is refused), so a refusal leaves the queue as it was; the types
-- are learned from the commands' own errors (pcall), so a good claim costs no TYPE call.

local function failed(reply)
    return type(reply) == "table" and reply.err ~= nil
end

local function refused(key)
    local kind = redis.call("TYPE", key)["ok"]
    return redis.error_reply("WRONGTYPE queue key " .. key .. " holds a " .. kind)
end

if redis.call("EXISTS", KEYS[2]) == 1 then
    return false
end
local n = tonumber(ARGV[3])
local ids = redis.pcall("LRANGE", KEYS[1], -n, -1)
if failed(ids) then
    return refused(KEYS[1])
end
if #ids == 0 then
    return {{}, {}}
end
local claimed, quarantined, good, bad = {}, {}, {}, {}
-- LRANGE lists the oldest last; the claim order is oldest first.
for i = #ids, 1, -1 do
    local id = ids[i]
    -- pcall: HGET on a key of another type is an error reply, not a script abort.
    local msg = redis.pcall("HGET", ARGV[2] .. id, "msg")
    if type(msg) == "string" then
        good[#good + 1] = id
        claimed[#claimed + 1] = id
        claimed[#claimed + 1] = msg
    else
        bad[#bad + 1] = id
    end
end
if #bad > 0 then
    local kind = redis.call("TYPE", KEYS[5])["ok"]
    if kind ~= "zset" and kind ~= "none" then
        return refused(KEYS[5])
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
    if failed(redis.pcall("LPUSH", KEYS[3], unpack(good, first, last))) then
        return refused(KEYS[3])  -- the first chunk: nothing written yet
    end
    if failed(redis.pcall("ZADD", KEYS[4], unpack(lease))) then
        redis.call("LTRIM", KEYS[3], last - first + 1, -1)  -- undo this chunk's LPUSH
        return refused(KEYS[4])
    end
end
redis.call("LTRIM", KEYS[1], 0, -#ids - 1)
for _, id in ipairs(good) do
    local key = ARGV[2] .. id
    redis.call("HSET", key, "state", "active")
    redis.call("HDEL", key, "pending_since")
end
for _, id in ipairs(bad) do
    local key = ARGV[2] .. id
    local kind = redis.call("TYPE", key)["ok"]
    quarantined[#quarantined + 1] = id
    if kind == "none" then
        quarantined[#quarantined + 1] = "missing"
    else
        redis.call("ZADD", KEYS[5], ARGV[4], id)
        if kind == "hash" then
            redis.call("HSET", key, "state", "archived")
            quarantined[#quarantined + 1] = "no msg"
        else
            quarantined[#quarantined + 1] = "type " .. kind
        end
    end
end
return {claimed, quarantined}
