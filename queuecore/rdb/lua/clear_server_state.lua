-- Remove this server's info and workers hash at shutdown (spec §4.2 W2, shutdown).
-- KEYS[1] server info  asynq:servers:{<host>:<pid>:<server id>}
-- KEYS[2] workers hash  asynq:workers:{<host>:<pid>:<server id>}
-- ARGV none
-- Returns OK.

redis.call("DEL", KEYS[1])
redis.call("DEL", KEYS[2])
return redis.status_reply("OK")
