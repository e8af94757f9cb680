-- Task counts by (type, last error) over one bounded window of a state container.
-- KEYS[1] container (pending/active list, or a state / group zset)
-- ARGV[1] "list" or "zset", ARGV[2] start, ARGV[3] stop (inclusive; lists counted from the
-- oldest, right end, as inspect_list), ARGV[4] task key prefix
-- Returns {total, read, skipped, type1, error1, count1, type2, error2, count2, ...}: total is the
-- container's size (-1 when the key has a foreign type), read the ids in the window, skipped the
-- ids whose record is gone, is not a hash, has no msg, or whose msg is not a TaskMessage; then
-- each distinct (type, error_msg) pair of the window with its count ("" = no last error).
-- Only TaskMessage fields 1 (type) and 7 (error_msg) are read; the payload and every other field
-- are stepped over by their length and never sent back, so the reply stays small.

local byte, sub = string.byte, string.sub

-- A varint at pos: value and the position after it, or nil when truncated or longer than 10 bytes.
local function varint(s, pos)
    local value, mult, last = 0, 1, pos + 9
    if last > #s then
        last = #s
    end
    for i = pos, last do
        local b = byte(s, i)
        value = value + (b % 128) * mult
        if b < 128 then
            return value, i + 1
        end
        mult = mult * 128
    end
    return nil
end

-- type and error_msg of an encoded TaskMessage (last occurrence wins, as protobuf parsers do),
-- or nil when the bytes are not a well-formed protobuf message. Tags and lengths below 128 (one
-- byte, nearly all of them) are read inline: this loop is where a breakdown spends its time.
local function type_and_error(s)
    local pos, n = 1, #s
    local ttype, err = "", ""
    while pos <= n do
        local tag = byte(s, pos)
        if tag < 128 then
            pos = pos + 1
        else
            tag, pos = varint(s, pos)
            if tag == nil then
                return nil
            end
        end
        local wire = tag % 8
        if tag < 8 then
            return nil
        elseif wire == 2 then
            local len = byte(s, pos)
            if len == nil then
                return nil
            elseif len < 128 then
                pos = pos + 1
            else
                len, pos = varint(s, pos)
                if len == nil then
                    return nil
                end
            end
            local after = pos + len
            if after > n + 1 then
                return nil
            end
            if tag == 10 then
                ttype = sub(s, pos, after - 1)
            elseif tag == 58 then
                err = sub(s, pos, after - 1)
            end
            pos = after
        elseif wire == 0 then
            local b = byte(s, pos)
            if b == nil then
                return nil
            elseif b < 128 then
                pos = pos + 1
            else
                b, pos = varint(s, pos)
                if b == nil then
                    return nil
                end
            end
        elseif wire == 1 then
            pos = pos + 8
        elseif wire == 5 then
            pos = pos + 4
        else
            return nil
        end
    end
    if pos > n + 1 then
        return nil
    end
    return ttype, err
end

local start, stop = tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call("TYPE", KEYS[1])["ok"]
local total, ids
if t == "none" then
    return {0, 0, 0}
elseif ARGV[1] == "list" and t == "list" then
    total = redis.call("LLEN", KEYS[1])
    ids = redis.call("LRANGE", KEYS[1], -stop - 1, -start - 1)
elseif ARGV[1] == "zset" and t == "zset" then
    total = redis.call("ZCARD", KEYS[1])
    ids = redis.call("ZRANGE", KEYS[1], start, stop)
else
    return {-1, 0, 0}
end

local counts, pairs_seen = {}, {}
local skipped = 0
for _, id in ipairs(ids) do
    -- pcall: a record of another type answers WRONGTYPE, which is a skipped row, not a failure.
    local msg = redis.pcall("HGET", ARGV[4] .. id, "msg")
    local ttype, err
    if type(msg) == "string" then
        ttype, err = type_and_error(msg)
    end
    if ttype == nil then
        skipped = skipped + 1
    else
        local by_error = counts[ttype]
        if by_error == nil then
            by_error = {}
            counts[ttype] = by_error
        end
        local seen = by_error[err]
        if seen == nil then
            by_error[err] = 1
            table.insert(pairs_seen, ttype)
            table.insert(pairs_seen, err)
        else
            by_error[err] = seen + 1
        end
    end
end

local res = {total, #ids, skipped}
for i = 1, #pairs_seen, 2 do
    local ttype, err = pairs_seen[i], pairs_seen[i + 1]
    table.insert(res, ttype)
    table.insert(res, err)
    table.insert(res, counts[ttype][err])
end
return res
