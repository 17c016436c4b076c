-- A generation the provider billed but whose outputs were lost (a crash or a storage error after
-- the charge was settled) ends `failed` with its cost recorded: app_engine.advance now takes the
-- cost columns with `failed` as well as with `succeeded`. A failure without a charge simply sends
-- no cost (the engine settles the ledger before it can send one, so a recorded cost on a failed
-- generation always matches a ledger charge). Otherwise as in 010.
create or replace function app_engine.advance(generation uuid, to_status text, event_type text, changes jsonb, event jsonb)
returns setof public.generations
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    current public.generations;
    updated public.generations;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    select * into current from public.generations g where g.id = advance.generation and g.user_id = caller for update;
    if not found then
        return;
    end if;
    if to_status is not null and not (
        (current.status = 'queued' and to_status in ('running', 'succeeded', 'failed', 'canceled', 'expired'))
        or (current.status = 'running' and to_status in ('running', 'succeeded', 'failed', 'canceled', 'expired'))) then
        return;
    end if;
    if to_status is null and current.status not in ('queued', 'running') then
        return;
    end if;
    update public.generations g set
        status = coalesce(to_status, g.status),
        provider = case when changes ? 'provider' then changes->>'provider' else g.provider end,
        model = case when changes ? 'model' then changes->>'model' else g.model end,
        provider_task = case when changes ? 'provider_task' then changes->'provider_task' else g.provider_task end,
        provider_task_id = case when changes ? 'provider_task_id' then changes->>'provider_task_id' else g.provider_task_id end,
        error_code = case when changes ? 'error_code' then changes->>'error_code' else g.error_code end,
        error_message = case when changes ? 'error_message' then changes->>'error_message' else g.error_message end,
        output_text = case when changes ? 'output_text' then changes->>'output_text' else g.output_text end,
        cancel_requested = case when changes ? 'cancel_requested' then (changes->>'cancel_requested')::boolean else g.cancel_requested end,
        lease_owner = case when changes ? 'lease_owner' then changes->>'lease_owner' else g.lease_owner end,
        lease_expires_at = case when changes ? 'lease_seconds'
                                then now() + make_interval(secs => (changes->>'lease_seconds')::integer) else g.lease_expires_at end,
        actual_cost = case when to_status in ('succeeded', 'failed') and changes ? 'actual_cost' then (changes->>'actual_cost')::numeric else g.actual_cost end,
        provider_reported_cost = case when to_status in ('succeeded', 'failed') and changes ? 'provider_reported_cost'
                                      then (changes->>'provider_reported_cost')::numeric else g.provider_reported_cost end,
        cost_lines = case when to_status in ('succeeded', 'failed') and changes ? 'cost_lines' then changes->'cost_lines' else g.cost_lines end,
        usage = case when to_status in ('succeeded', 'failed') and changes ? 'usage' then changes->'usage' else g.usage end,
        started_at = case when to_status = 'running' and g.started_at is null then now() else g.started_at end,
        finished_at = case when to_status in ('succeeded', 'failed', 'canceled', 'expired') then now() else g.finished_at end,
        updated_at = now()
    where g.id = current.id
    returning * into updated;
    if event_type is not null then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, current.id, event_type, coalesce(event, '{}'));
    end if;
    return next updated;
end
$$;
