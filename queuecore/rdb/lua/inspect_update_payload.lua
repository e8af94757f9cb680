-- Replace the message of a scheduled task (asynq's UpdateTaskPayload, §4.4 I7), made atomic by
-- comparing the message the caller read with the one stored now.
-- KEYS[1] task hash
-- ARGV[1] message the caller read, ARGV[2] new message
-- Returns 1 updated; 0 no such task; -1 not scheduled; -2 the message changed since it was read

if redis.call("EXISTS", KEYS[1]) == 0 then
    return 0
end
local msg, state = unpack(redis.call("HMGET", KEYS[1], "msg", "state"))
if state ~= "scheduled" then
    return -1
end
if msg ~= ARGV[1] then
    return -2
end
redis.call("HSET", KEYS[1], "msg", ARGV[2])
return 1
