-- A canceled generation whose provider work ended without a charge (its task taken off the
-- provider's queue or stopped where the provider bills nothing for it, failed there, or its call
-- never made) has its reservation released by the runner. When that release failed (a database
-- error), the generation stayed canceled, uncharged and marked as holding provider work (a
-- submission in flight or a task), and the worker's sweep charged it the reserved estimate as an
-- unknown outcome: an overcharge for work the provider never billed.
--
-- app_engine.end_provider_work records that fact when the release fails: the caller's canceled
-- generation, still awaiting its charge (no cost status, its reservation open), no longer holds
-- provider work, so its in-flight mark and its task are cleared (the task's id stays in
-- provider_task_id). The sweep then releases its reservation, as for any uncharged end, and
-- finish_generation no longer charges it. Returns whether it was recorded.

grant create on schema app_engine to app_engine_writer;

create function app_engine.end_provider_work(generation uuid)
returns boolean
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    update public.generations g set submitting = null, provider_task = null, updated_at = now()
    where g.id = end_provider_work.generation and g.user_id = caller and g.status = 'canceled' and g.cost_status is null
      and (g.submitting is not null or g.provider_task is not null)
      and not exists (select from public.budget_ledger l where l.generation_id = g.id and l.kind in ('release', 'charge'));
    return found;
end
$$;

revoke all on function app_engine.end_provider_work(uuid) from public;
alter function app_engine.end_provider_work(uuid) owner to app_engine_writer;
grant execute on function app_engine.end_provider_work(uuid) to authenticated;
revoke create on schema app_engine from app_engine_writer;
