-- The record of one task for GetTaskInfo.
-- KEYS[1] task hash
-- ARGV[1] task id, ARGV[2] queue key prefix
-- Returns {msg, state, result, score} (false where absent; score = ZSCORE of the task in its state
-- zset for scheduled/retry, its lease expiry for active), or nil when the task hash does not exist

if redis.call("TYPE", KEYS[1])["ok"] ~= "hash" then
    return nil
end
local rec = redis.call("HMGET", KEYS[1], "msg", "state", "result")
local score = false
if rec[2] == "scheduled" or rec[2] == "retry" then
    score = redis.call("ZSCORE", ARGV[2] .. rec[2], ARGV[1])
elseif rec[2] == "active" then
    score = redis.call("ZSCORE", ARGV[2] .. "lease", ARGV[1])
end
return {rec[1], rec[2], rec[3], score}
