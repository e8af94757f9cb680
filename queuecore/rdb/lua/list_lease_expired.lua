-- Read the messages of active tasks whose lease expired before a cutoff (spec §4.3 M2).
-- KEYS[1] lease zset  asynq:{<q>}:lease
-- ARGV[1] cutoff, Unix seconds (now - 30 s)
-- ARGV[2] task key prefix  asynq:{<q>}:t:
-- Returns an array of encoded TaskMessages; IDs whose hash has no msg are skipped (Go >= v0.25).

local msgs = {}
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
for _, id in ipairs(ids) do
    local msg = redis.call("HGET", ARGV[2] .. id, "msg")
    if msg then
        msgs[#msgs + 1] = msg
    end
end
return msgs
