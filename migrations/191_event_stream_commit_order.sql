-- A user's event stream (GET /v1/events) in an order no late commit can slip behind.
--
-- Event ids come from one sequence, taken when a row is written, but transactions commit in their
-- own order: a stream that had sent id 11 could later see id 10 commit, and a cursor past 11 would
-- skip it. The stream held every event back until it was a second old, which still skipped one
-- whose transaction committed more than a second after it began, and delayed every event by that
-- second. Each event now carries the id of the transaction that wrote it (`tx`), and the stream
-- reads in (tx, id) order only what transactions older than every one still running wrote
-- (`tx < pg_snapshot_xmin(pg_current_snapshot())`): any transaction that commits later has a
-- transaction id at least that horizon, so it sorts after everything already sent. One
-- generation's stream keeps id order (its row lock orders the transactions that write it).
--
-- Events written before this migration get tx 0: they are all committed, and keep their id order
-- ahead of every later event. The stream's index becomes (user_id, tx, id) in place of
-- (user_id, id), so an event insert maintains as many indexes as before.
alter table public.generation_events add column tx xid8 not null default '0';
alter table public.generation_events alter column tx set default pg_current_xact_id();

create index if not exists generation_events_user_tx_order_idx on public.generation_events (user_id, tx, id);
drop index if exists public.generation_events_user_id_order_idx;
