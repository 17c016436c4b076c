-- Idempotency keys were never deleted: the table grew with every keyed request, forever. The
-- workers now delete keys older than a day (the API keeps each at least 24 hours), oldest first
-- and a thousand at a time; this index finds them without reading the younger ones.
create index if not exists idempotency_keys_created_idx on public.idempotency_keys (created_at);
