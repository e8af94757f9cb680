-- The raw record under a task id, whatever it holds, for telling why it cannot be read.
-- KEYS[1] task key  asynq:{<q>}:t:<id>
-- ARGV (none)
-- Returns {type, data}: type as TYPE names it ("none" when absent); data is the hash's msg or the
-- string's value (false when there is none, or for other types).

local t = redis.call("TYPE", KEYS[1])["ok"]
local data = false
if t == "hash" then
    data = redis.call("HGET", KEYS[1], "msg") or false
elseif t == "string" then
    data = redis.call("GET", KEYS[1])
end
return {t, data}
