-- One page of task records from a state container (list or zset), with each task's record.
-- KEYS[1] container (pending/active list, or a state / group zset), KEYS[2] lease zset
-- ARGV[1] "list" or "zset", ARGV[2] start, ARGV[3] stop (lists: counted from the oldest, right
-- end, as asynq's negated LRANGE), ARGV[4] task key prefix, ARGV[5] "1" to read lease scores
-- Returns {total, id1, msg1, result1, score1, id2, ...}: msg/result false when absent; score is the
-- zset score, or for lists the lease score ("" when not asked for or not leased). Lists come
-- newest-first within the page (the caller reverses). total = -1 when the key has a foreign type.

local start, stop = tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call("TYPE", KEYS[1])["ok"]
local res = {}
local ids
if t == "none" then
    return {0}
elseif ARGV[1] == "list" and t == "list" then
    res[1] = redis.call("LLEN", KEYS[1])
    ids = redis.call("LRANGE", KEYS[1], -stop - 1, -start - 1)
elseif ARGV[1] == "zset" and t == "zset" then
    res[1] = redis.call("ZCARD", KEYS[1])
    ids = redis.call("ZRANGE", KEYS[1], start, stop, "WITHSCORES")
else
    return {-1}
end

local step = 1
if ARGV[1] == "zset" then step = 2 end
for i = 1, #ids, step do
    local id = ids[i]
    local tkey = ARGV[4] .. id
    local msg, result = false, false
    if redis.call("TYPE", tkey)["ok"] == "hash" then
        local rec = redis.call("HMGET", tkey, "msg", "result")
        msg, result = rec[1], rec[2]
    end
    local score = ""
    if step == 2 then
        score = ids[i + 1]
    elseif ARGV[5] == "1" then
        score = redis.call("ZSCORE", KEYS[2], id) or ""
    end
    table.insert(res, id)
    table.insert(res, msg)
    table.insert(res, result)
    table.insert(res, score)
end
return res
