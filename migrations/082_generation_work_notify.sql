-- Workers sleep on LISTEN generation_work instead of polling every second. A notification is sent
-- whenever a generation becomes claimable by a write: created or moved while queued or running
-- with no lease or a lease already in the past (given up by its process). A lease that lapses
-- because its process died sends nothing (time passing writes nothing): the worker also wakes at
-- the earliest lease expiry it knows of, and on a fallback timer.
create or replace function app_engine.notify_generation_work()
returns trigger
language plpgsql set search_path = '' as $$
begin
    perform pg_notify('generation_work', '');
    return null;
end
$$;
revoke all on function app_engine.notify_generation_work() from public;

create trigger generations_work_notify
after insert or update of status, lease_owner, lease_expires_at on public.generations
for each row
when (new.status in ('queued', 'running') and (new.lease_expires_at is null or new.lease_expires_at <= now()))
execute function app_engine.notify_generation_work();
