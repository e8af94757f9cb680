-- Replace one scheduler's entry list (asynq's WriteSchedulerEntries, spec §2 and §5).
-- KEYS[1] asynq:schedulers:{<schedulerID>}
-- ARGV[1] TTL in whole seconds (2x the heartbeat interval); ARGV[2..n] SchedulerEntry protobufs
-- Returns 1. The list is LPUSHed element by element, so it reads back in reverse order, as Go's.

redis.call("DEL", KEYS[1])
for i = 2, #ARGV do
    redis.call("LPUSH", KEYS[1], ARGV[i])
end
redis.call("EXPIRE", KEYS[1], ARGV[1])
return 1
