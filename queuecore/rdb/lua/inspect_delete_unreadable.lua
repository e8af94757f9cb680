-- Delete a record that cannot be read as a task, by id (README, "Poison data"): its key, of any
-- type, and the id in every list and zset of the queue (its state cannot be trusted, if any).
-- KEYS[1] task key  asynq:{<q>}:t:<id>
-- ARGV[1] task id, ARGV[2] queue key prefix  asynq:{<q>}:
-- Returns the number of places the record was found in (the key and each container); 0 = none.
-- pcall: a container of a foreign type is skipped, not a failed delete.

local found = redis.call("DEL", KEYS[1])
for _, name in ipairs({"pending", "active"}) do
    local n = redis.pcall("LREM", ARGV[2] .. name, 0, ARGV[1])
    if type(n) == "number" then found = found + n end
end
for _, name in ipairs({"lease", "scheduled", "retry", "archived", "completed"}) do
    local n = redis.pcall("ZREM", ARGV[2] .. name, ARGV[1])
    if type(n) == "number" then found = found + n end
end
return found
