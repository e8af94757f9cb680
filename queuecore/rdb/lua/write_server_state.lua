-- Publish this server's info and its in-flight tasks (spec §4.2 W2 step 3).
-- KEYS[1] server info  asynq:servers:{<host>:<pid>:<server id>}
-- KEYS[2] workers hash  asynq:workers:{<host>:<pid>:<server id>}
-- ARGV[1] TTL, seconds (2 x heartbeat = 10)
-- ARGV[2] encoded ServerInfo
-- ARGV[3..] pairs: task id, encoded WorkerInfo
-- Returns OK. The workers hash is rebuilt from scratch, so it is absent while nothing is in flight.

redis.call("SETEX", KEYS[1], ARGV[1], ARGV[2])
redis.call("DEL", KEYS[2])
for i = 3, #ARGV - 1, 2 do
    redis.call("HSET", KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call("EXPIRE", KEYS[2], ARGV[1])
return redis.status_reply("OK")
