-- Read the messages of active tasks whose lease expired before a cutoff (spec §4.3 M2).
-- KEYS[1] lease zset  asynq:{<q>}:lease
-- KEYS[2] active list  asynq:{<q>}:active
-- KEYS[3] archived zset  asynq:{<q>}:archived (where unreadable records are quarantined)
-- ARGV[1] cutoff, Unix seconds (now - 30 s)
-- ARGV[2] task key prefix  asynq:{<q>}:t:
-- ARGV[3] now, Unix seconds (the archived score of a quarantined record)
-- Returns {expired, quarantined}: expired is {id1, msg1, ...}; quarantined is {id1, outcome1, ...}
-- for expired IDs that cannot be recovered, taken out of active and lease: "missing" (no key,
-- dropped) or "archived" (a key of another type, or a hash without msg, moved to archived).
-- Returns an error "WRONGTYPE queue key ..." (nothing touched) when lease, active or archived has
-- a foreign type. For readable tasks this only reads, like Go; Go >= v0.25 skips IDs without msg
-- and leaves them leased for good, and fails the whole queue on a key of another type.

local wanted = {{KEYS[1], "zset"}, {KEYS[2], "list"}, {KEYS[3], "zset"}}
for _, pair in ipairs(wanted) do
    local t = redis.call("TYPE", pair[1])["ok"]
    if t ~= pair[2] and t ~= "none" then
        return redis.error_reply("WRONGTYPE queue key " .. pair[1] .. " holds a " .. t)
    end
end
local expired, quarantined = {}, {}
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
for _, id in ipairs(ids) do
    local key = ARGV[2] .. id
    local msg = redis.pcall("HGET", key, "msg")
    if type(msg) == "string" then
        expired[#expired + 1] = id
        expired[#expired + 1] = msg
    else
        redis.call("LREM", KEYS[2], 0, id)
        redis.call("ZREM", KEYS[1], id)
        local t = redis.call("TYPE", key)["ok"]
        quarantined[#quarantined + 1] = id
        if t == "none" then
            quarantined[#quarantined + 1] = "missing"
        else
            redis.call("ZADD", KEYS[3], ARGV[3], id)
            if t == "hash" then
                redis.call("HSET", key, "state", "archived")
            end
            quarantined[#quarantined + 1] = "archived"
        end
    end
end
return {expired, quarantined}
