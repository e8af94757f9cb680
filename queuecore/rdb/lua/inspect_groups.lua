-- Group names of a queue with their sizes (asynq's Groups).
-- KEYS[1] groups set
-- ARGV[1] group key prefix
-- Returns {name1, size1, name2, size2, ...}

local res = {}
if redis.call("TYPE", KEYS[1])["ok"] ~= "set" then
    return res
end
for _, name in ipairs(redis.call("SMEMBERS", KEYS[1])) do
    table.insert(res, name)
    table.insert(res, redis.call("ZCARD", ARGV[1] .. name))
end
return res
