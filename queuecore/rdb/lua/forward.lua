-- Move up to 100 due scheduled or retry tasks to pending, or back to their group (spec §4.3 M1).
-- KEYS[1] source zset  asynq:{<q>}:scheduled or asynq:{<q>}:retry
-- KEYS[2] pending list  asynq:{<q>}:pending
-- ARGV[1] now, Unix seconds (due when score <= now)
-- ARGV[2] task key prefix  asynq:{<q>}:t:
-- ARGV[3] now, Unix nanoseconds (pending_since)
-- ARGV[4] group key prefix  asynq:{<q>}:g:
-- Returns the number of tasks moved (0 when nothing is due).
-- A task whose hash has a non-empty group field goes back to g:<group> as aggregating; like Go,
-- the groups set is not touched.

local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, 100)
for _, id in ipairs(ids) do
    local key = ARGV[2] .. id
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
end
return #ids
