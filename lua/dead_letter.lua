-- The processor gave up on a request's message (its last receive failed): the queue moves it to the DLQ. From now
-- its hold may expire (RESERVATION_TTL_SECONDS later, the operators' window to redrive it).
-- ARGV[1] request_id
if redis.call('HEXISTS', HOLDS, ARGV[1]) == 1 then redis.call('ZADD', DEAD_LETTERED, 'NX', now_ms(), ARGV[1]) end
return 0
