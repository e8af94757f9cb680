-- Compare-and-set one alert state: the atomic claim that makes several alert loops send each
-- message once (the loop that changes the state is the one that sends).
-- KEYS[1] queuecore:alerts:state:<channel> (hash: finding key -> alert state JSON)
-- ARGV[1] the finding key; ARGV[2] the value the caller read ("" when it read none);
-- ARGV[3] the new value ("" deletes the field)
-- Returns 1 when the field still held ARGV[2] and was changed, 0 when another loop changed it.

local current = redis.call("HGET", KEYS[1], ARGV[1])
if current == false then
    current = ""
end
if current ~= ARGV[2] then
    return 0
end
if ARGV[3] == "" then
    redis.call("HDEL", KEYS[1], ARGV[1])
else
    redis.call("HSET", KEYS[1], ARGV[1], ARGV[3])
end
return 1
