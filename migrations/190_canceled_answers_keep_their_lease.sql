-- A canceled generation's provider may still be answering: a cancel during a call keeps the
-- reservation for that answer's charge, which the process reading it writes when it ends (a
-- streamed answer may take up to 600 s). The heartbeat renewing that process's lease went through
-- app_engine.advance, which ignored any change to a generation no longer queued or running, so the
-- lease ran out after GENERATION_LEASE_SECONDS and the workers' sweep charged the reserved estimate
-- as an abandoned cancel, dropping the real charge that followed. advance now renews the lease of
-- a canceled generation that still has a submission in flight or a provider task (and no charge
-- yet), when the lease is all it is asked to change; anything else on an ended generation is still
-- ignored. The sweep's exclusion for a live lease covers a canceled provider task as well
-- (PostgresGenerationStore.unendedReservations).

grant create on schema app_engine to app_engine_writer;

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
        -- A canceled generation whose provider is still answering (or being stopped) keeps its
        -- process's lease: the heartbeat renews it, so the sweep leaves the charge to that process.
        if current.status = 'canceled' and current.cost_status is null
           and (current.submitting is not null or current.provider_task is not null)
           and changes ? 'lease_seconds' and (select count(*) from jsonb_object_keys(changes)) = 1
           and event_type is null then
            update public.generations g
            set lease_expires_at = now() + make_interval(secs => (changes->>'lease_seconds')::integer), updated_at = now()
            where g.id = current.id
            returning * into updated;
            return next updated;
        end if;
        return;
    end if;
    update public.generations g set
        status = coalesce(to_status, g.status),
        provider = case when changes ? 'provider' then changes->>'provider' else g.provider end,
        model = case when changes ? 'model' then changes->>'model' else g.model end,
        provider_task = case when changes ? 'provider_task' then changes->'provider_task' else g.provider_task end,
        provider_task_id = case when changes ? 'provider_task_id' then changes->>'provider_task_id' else g.provider_task_id end,
        submitting = case when changes ? 'submitting' then nullif(changes->'submitting', 'null'::jsonb)
                          when changes ? 'provider_task' then null else g.submitting end,
        error_code = case when changes ? 'error_code' then changes->>'error_code' else g.error_code end,
        error_message = case when changes ? 'error_message' then changes->>'error_message' else g.error_message end,
        output_text = case when changes ? 'output_text' then changes->>'output_text' else g.output_text end,
        cancel_requested = case when changes ? 'cancel_requested' then (changes->>'cancel_requested')::boolean else g.cancel_requested end,
        lease_owner = case when changes ? 'lease_owner' then changes->>'lease_owner' else g.lease_owner end,
        lease_expires_at = case when changes ? 'lease_seconds'
                                then now() + make_interval(secs => (changes->>'lease_seconds')::integer) else g.lease_expires_at end,
        actual_cost = case when to_status in ('succeeded', 'failed') and changes ? 'actual_cost' then (changes->>'actual_cost')::numeric else g.actual_cost end,
        cost_status = case when to_status in ('succeeded', 'failed') and changes ? 'cost_status' then changes->>'cost_status' else g.cost_status end,
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

alter function app_engine.advance(uuid, text, text, jsonb, jsonb) owner to app_engine_writer;
revoke all on function app_engine.advance(uuid, text, text, jsonb, jsonb) from public;
grant execute on function app_engine.advance(uuid, text, text, jsonb, jsonb) to authenticated;
revoke create on schema app_engine from app_engine_writer;
