-- Read the tasks staged in an aggregation set and the set's deadline (spec §4.3 M4).
-- KEYS[1] aggregation set  asynq:{<q>}:g:<group>:<set id>
-- KEYS[2] aggregation sets zset  asynq:{<q>}:aggregation_sets
-- ARGV[1] task key prefix  asynq:{<q>}:t:
-- Returns {deadline (Unix seconds, false when unknown), msg1, msg2, ...}; members without a msg
-- are skipped, and so are members whose key has another type (pcall: not a failed set).

local out = {redis.call("ZSCORE", KEYS[2], KEYS[1])}
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    local msg = redis.pcall("HGET", ARGV[1] .. id, "msg")
    if type(msg) == "string" then
        out[#out + 1] = msg
    end
end
return out
