-- Sampled memory estimate of one queue in bytes, as asynq's memoryUsage script (HEAD, nil-guarded).
-- KEYS[1] active, KEYS[2] pending, KEYS[3] scheduled, KEYS[4] retry, KEYS[5] archived,
-- KEYS[6] completed, KEYS[7] groups
-- ARGV[1] task key prefix, ARGV[2] sample size (20), ARGV[3] groups sampled (5), ARGV[4] group key prefix
-- Returns the estimate, truncated to an integer (fails where the server forbids MEMORY USAGE)

local sample_size = tonumber(ARGV[2])
local memusg = 0

local function sample(ids)
    local total, n = 0, 0
    for _, id in ipairs(ids) do
        local bytes = redis.call("MEMORY", "USAGE", ARGV[1] .. id)
        if bytes then
            total = total + bytes
            n = n + 1
        end
    end
    return total, n
end

for i = 1, 2 do
    local ids = redis.call("LRANGE", KEYS[i], 0, sample_size - 1)
    local total, n = sample(ids)
    if n > 0 then
        memusg = memusg + (total / n) * redis.call("LLEN", KEYS[i])
    end
    local m = redis.call("MEMORY", "USAGE", KEYS[i])
    if m then memusg = memusg + m end
end

for i = 3, 6 do
    local ids = redis.call("ZRANGE", KEYS[i], 0, sample_size - 1)
    local total, n = sample(ids)
    if n > 0 then
        memusg = memusg + (total / n) * redis.call("ZCARD", KEYS[i])
    end
    local m = redis.call("MEMORY", "USAGE", KEYS[i])
    if m then memusg = memusg + m end
end

local groups = redis.call("SMEMBERS", KEYS[7])
if #groups > 0 then
    local agg_count, agg_total, agg_n = 0, 0, 0
    for i, gname in ipairs(groups) do
        local gkey = ARGV[4] .. gname
        agg_count = agg_count + redis.call("ZCARD", gkey)
        if i <= tonumber(ARGV[3]) then
            local total, n = sample(redis.call("ZRANGE", gkey, 0, sample_size - 1))
            agg_total = agg_total + total
            agg_n = agg_n + n
        end
    end
    if agg_n > 0 then
        memusg = memusg + (agg_total / agg_n) * agg_count
    end
end

return memusg
