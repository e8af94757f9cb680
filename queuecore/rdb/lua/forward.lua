-- Move up to 100 due scheduled or retry tasks to pending, or back to their group (spec §4.3 M1).
-- KEYS[1] source zset  asynq:{<q>}:scheduled or asynq:{<q>}:retry
-- KEYS[2] pending list  asynq:{<q>}:pending
-- KEYS[3] archived zset  asynq:{<q>}:archived (where unreadable records are quarantined)
-- ARGV[1] now, Unix seconds (due when score <= now)
-- ARGV[2] task key prefix  asynq:{<q>}:t:
-- ARGV[3] now, Unix nanoseconds (pending_since)
-- ARGV[4] group key prefix  asynq:{<q>}:g:
-- Returns {taken, quarantined}: taken is the number of due IDs taken from the source (0 when
-- nothing is due); quarantined is {id1, outcome1, ...} for those that cannot be run: "missing"
-- (no key, dropped) or "archived" (a key of another type or a hash without msg, moved to
-- archived with the key left as it is). An error "WRONGTYPE queue key ..." (nothing touched)
-- when the source key has a foreign type, or pending or archived has one while tasks are due.
-- A task whose hash has a non-empty group field goes back to g:<group> as aggregating; like Go,
-- the groups set is not touched. Readable tasks move exactly as Go moves them.

local function require_type(key, want)
    local t = redis.call("TYPE", key)["ok"]
    if t ~= want and t ~= "none" then
        return redis.error_reply("WRONGTYPE queue key " .. key .. " holds a " .. t)
    end
end
local refused = require_type(KEYS[1], "zset")
if refused then return refused end
local quarantined = {}
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, 100)
if #ids == 0 then
    return {0, quarantined}  -- nothing due: the targets' types do not matter yet
end
refused = require_type(KEYS[2], "list") or require_type(KEYS[3], "zset")
if refused then return refused end
for _, id in ipairs(ids) do
    local key = ARGV[2] .. id
    -- pcall: HEXISTS on a key of another type is an error reply, not a script abort.
    if redis.pcall("HEXISTS", key, "msg") == 1 then
        local group = redis.call("HGET", key, "group")
        if group and group ~= "" then
            redis.call("ZADD", ARGV[4] .. group, ARGV[1], id)
            redis.call("ZREM", KEYS[1], id)
            redis.call("HSET", key, "state", "aggregating")
        else
            redis.call("LPUSH", KEYS[2], id)
            redis.call("ZREM", KEYS[1], id)
            redis.call("HSET", key, "state", "pending", "pending_since", ARGV[3])
        end
    else
        redis.call("ZREM", KEYS[1], id)
        local t = redis.call("TYPE", key)["ok"]
        quarantined[#quarantined + 1] = id
        if t == "none" then
            quarantined[#quarantined + 1] = "missing"
        else
            redis.call("ZADD", KEYS[3], ARGV[1], id)
            if t == "hash" then
                redis.call("HSET", key, "state", "archived")
            end
            quarantined[#quarantined + 1] = "archived"
        end
    end
end
return {#ids, quarantined}
