-- Put the tasks of aggregation sets past their deadline back into their groups (spec §4.3 M2).
-- KEYS[1] aggregation sets zset  asynq:{<q>}:aggregation_sets
-- ARGV[1] now, Unix seconds (stale when score <= now)
-- Returns OK. The group key is the set key minus its last ":<set id>" segment; members keep their
-- original scores; like Go, the groups set is not touched.

local sets = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
for _, setKey in ipairs(sets) do
    local groupKey = string.match(setKey, "(.*):[^:]*$")
    local members = redis.call("ZRANGE", setKey, 0, -1, "WITHSCORES")
    for i = 1, #members, 2 do
        redis.call("ZADD", groupKey, members[i + 1], members[i])
    end
    redis.call("DEL", setKey)
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
return redis.status_reply("OK")
