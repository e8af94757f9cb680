-- Record one enqueue of a scheduler entry (asynq's RecordSchedulerEnqueueEvent, spec §2).
-- KEYS[1] asynq:scheduler_history:<entryID>
-- ARGV[1] enqueue time in Unix seconds (the score); ARGV[2] SchedulerEnqueueEvent protobuf;
-- ARGV[3] the cap on events kept (1000)
-- Returns 1. Trimming first with rank 0..-cap keeps the newest cap-1 events, then the ZADD makes
-- at most cap, exactly as Go does.

redis.call("ZREMRANGEBYRANK", KEYS[1], 0, -tonumber(ARGV[3]))
redis.call("ZADD", KEYS[1], ARGV[1], ARGV[2])
return 1
