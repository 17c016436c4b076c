-- The engine's hot path in two calls, and the money windows around a synchronous provider call.
--
-- 1. `submitting`: a synchronous submission to that provider and model may be in flight (the
--    request is being sent, or its answer is not recorded yet). Set by admit_generation for the
--    first candidate (and by app_engine.advance for a fallback), cleared when the attempt's outcome
--    is recorded (record_attempt, finish_generation) or a provider task is stored. A generation
--    found `running` with it set, no provider task and no charge was left by a process that died
--    while the provider may have billed: it is never submitted again (the engine ends it
--    `outcome_unknown`), and a cancel meanwhile keeps the reservation so the answer's charge can
--    still be settled (finish_generation on a canceled row).
-- 2. `cost_status`: how `actual_cost` came about: `priced` (the pricing version priced the
--    usage), `unpriced` (no price: the provider's reported cost, or nothing, never $0 as if
--    priced), `estimated` (the reserved estimate, charged because the outcome is unknown).
-- 3. app_engine.admit_generation: reserve on every scope and create the generation (leased to the
--    admitting process, `running` when it starts it at once) in one call.
-- 4. app_engine.finish_generation: settle (or end the batch item's provider scope), the attempt,
--    the output assets and the final state with its event, in one call.

alter table public.generations
    add column submitting jsonb,
    add column cost_status text check (cost_status in ('priced', 'unpriced', 'estimated'));

grant create on schema app_engine to app_engine_writer;

-- Admission in one call: app_ledger.reserve's rows (the same columns and meaning), and, when every
-- scope admitted it, the generation created in the same transaction, leased to `lease_owner`.
-- With `start`, the admitting process runs it now: it is created `running` (events `queued` and
-- `started`) with the first candidate's submission marked in flight. Refused: nothing is written.
create or replace function app_engine.admit_generation(
    generation uuid, project uuid, kind text, prompt text, parameters jsonb, requested_provider text,
    requested_model text, provider text, model text, candidates jsonb, estimate numeric, max_cost numeric,
    pricing_version text, lease_owner text, lease_seconds integer, start boolean)
returns table (scope text, entry_id uuid, admitted boolean, fits boolean, budget_limit numeric, spent numeric, reserved numeric)
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    return query select r.scope, r.entry_id, r.admitted, r.fits, r.budget_limit, r.spent, r.reserved
                 from app_ledger.reserve(admit_generation.project, admit_generation.generation, admit_generation.estimate,
                                         admit_generation.provider) r;
    if not exists (select from public.budget_ledger l
                   where l.generation_id = admit_generation.generation and l.kind = 'reservation' and l.user_id = caller) then
        return;
    end if;
    insert into public.generations (id, user_id, project_id, kind, prompt, parameters, requested_provider, requested_model,
                                    provider, model, candidates, status, estimate, max_cost, pricing_version, lease_owner,
                                    lease_expires_at, started_at, submitting)
    values (admit_generation.generation, caller, admit_generation.project, admit_generation.kind, admit_generation.prompt,
            coalesce(admit_generation.parameters, '{}'), admit_generation.requested_provider, admit_generation.requested_model,
            admit_generation.provider, admit_generation.model, coalesce(admit_generation.candidates, '[]'),
            case when admit_generation.start then 'running' else 'queued' end, admit_generation.estimate,
            admit_generation.max_cost, admit_generation.pricing_version, admit_generation.lease_owner,
            now() + make_interval(secs => greatest(admit_generation.lease_seconds, 1)),
            case when admit_generation.start then now() end,
            case when admit_generation.start
                 then jsonb_build_object('provider', admit_generation.provider, 'model', admit_generation.model) end);
    insert into public.generation_events (user_id, generation_id, type, payload)
    values (caller, admit_generation.generation, 'queued',
            jsonb_build_object('status', 'queued', 'estimate', admit_generation.estimate::text));
    if admit_generation.start then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, admit_generation.generation, 'started', '{}');
    end if;
end
$$;

-- The end of a provider attempt that answered (`with_attempt`: its attempt row is written; false
-- for an outcome that is unknown): `to_status` succeeded, or failed when the provider
-- billed but the outputs could not be stored. In one transaction: the charge (`cost`; null: no
-- charge, the reservation is released) settled on every scope, or only on the provider scope for
-- a batch item (`provider_scope_only`), the attempt, the output assets, the costs and the final
-- state with `event` (its payload). A generation canceled while this submission was in flight keeps its
-- status, but its charge, costs and outputs are recorded: the provider billed it. No row: the
-- generation is not the caller's, or it ended otherwise. Errors: as app_ledger.settle (55000:
-- the reservation already ended).
create or replace function app_engine.finish_generation(
    generation uuid, to_status text, provider text, model text, cost numeric, cost_status text,
    provider_reported_cost numeric, cost_lines jsonb, usage jsonb, output_text text, error_code text, error_message text,
    assets jsonb, provider_scope_only boolean, provider_request_id text, event jsonb,
    with_attempt boolean)
returns setof public.generations
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    current public.generations;
    updated public.generations;
    canceled_meanwhile boolean;
    next_number integer;
    asset jsonb;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if to_status not in ('succeeded', 'failed') or finish_generation.cost_status not in ('priced', 'unpriced', 'estimated')
       or jsonb_typeof(coalesce(finish_generation.assets, '[]')) <> 'array' then
        raise exception 'a final status, a cost status and an array of assets are required' using errcode = '22023';
    end if;
    select * into current from public.generations g where g.id = finish_generation.generation and g.user_id = caller for update;
    if not found then
        return;
    end if;
    canceled_meanwhile := current.status = 'canceled' and current.submitting is not null;
    if current.status not in ('queued', 'running') and not canceled_meanwhile then
        return;
    end if;
    if finish_generation.provider_scope_only then
        perform app_ledger.end_provider(current.id, finish_generation.cost);
    elsif finish_generation.cost is not null then
        perform app_ledger.settle(current.id, finish_generation.cost, finish_generation.provider);
    else
        perform app_ledger.release_scoped(current.id);
    end if;
    if finish_generation.with_attempt then
        select coalesce(max(a.number), 0) + 1 into next_number from public.generation_attempts a where a.generation_id = current.id;
        insert into public.generation_attempts (user_id, generation_id, number, provider, model, status, provider_request_id)
        values (caller, current.id, next_number, finish_generation.provider, finish_generation.model, 'succeeded',
                finish_generation.provider_request_id);
    end if;
    for asset in select value from jsonb_array_elements(coalesce(finish_generation.assets, '[]')) loop
        insert into public.assets (user_id, project_id, generation_id, kind, content_type, bytes, sha256, storage_key)
        values (caller, current.project_id, current.id, asset->>'kind', asset->>'content_type', (asset->>'bytes')::bigint,
                asset->>'sha256', asset->>'storage_key');
    end loop;
    update public.generations g set
        status = case when canceled_meanwhile then g.status else to_status end,
        provider = finish_generation.provider,
        model = finish_generation.model,
        error_code = case when canceled_meanwhile then g.error_code else finish_generation.error_code end,
        error_message = case when canceled_meanwhile then g.error_message else finish_generation.error_message end,
        output_text = finish_generation.output_text,
        actual_cost = finish_generation.cost,
        cost_status = finish_generation.cost_status,
        provider_reported_cost = finish_generation.provider_reported_cost,
        cost_lines = finish_generation.cost_lines,
        usage = finish_generation.usage,
        submitting = null,
        finished_at = case when canceled_meanwhile then g.finished_at else now() end,
        updated_at = now()
    where g.id = current.id
    returning * into updated;
    -- A canceled generation's stream ended with `canceled`: nothing follows a terminal event.
    if not canceled_meanwhile then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, current.id, to_status, coalesce(finish_generation.event, '{}'));
    end if;
    return next updated;
end
$$;

-- As in 010, and: the attempt's outcome is known, so no submission is in flight any more; a
-- generation canceled while it was in flight still records it (its reservation is still held).
create or replace function app_engine.record_attempt(generation uuid, provider text, model text, status text, error_code text,
                                                     error_message text, http_status integer, retryable boolean,
                                                     provider_request_id text)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    next_number integer;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    perform from public.generations g
    where g.id = record_attempt.generation and g.user_id = caller
      and (g.status in ('queued', 'running') or (g.status = 'canceled' and g.submitting is not null)) for update;
    if not found then
        raise exception 'generation not found or finished' using errcode = 'P0002';
    end if;
    update public.generations g set submitting = null where g.id = record_attempt.generation;
    select coalesce(max(a.number), 0) + 1 into next_number from public.generation_attempts a where a.generation_id = record_attempt.generation;
    insert into public.generation_attempts (user_id, generation_id, number, provider, model, status, error_code, error_message,
                                            http_status, retryable, provider_request_id)
    values (caller, generation, next_number, provider, model, status, error_code, error_message, http_status, retryable,
            provider_request_id);
    if status = 'failed' then
        insert into public.generation_events (user_id, generation_id, type, payload)
        values (caller, generation, 'attempt_failed', jsonb_build_object('attempt', next_number, 'provider', provider,
                'model', model, 'code', error_code, 'retryable', retryable));
    end if;
    return next_number;
end
$$;

-- As in 081, and: `submitting` in `changes` sets (an object) or clears (null) the in-flight
-- marker; storing a provider task clears it (the submission's answer is recorded); `cost_status`
-- is taken with the cost columns.
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

do $$
declare
    f text;
begin
    foreach f in array array[
        'app_engine.admit_generation(uuid, uuid, text, text, jsonb, text, text, text, text, jsonb, numeric, numeric, text, text, integer, boolean)',
        'app_engine.finish_generation(uuid, text, text, text, numeric, text, numeric, jsonb, jsonb, text, text, text, jsonb, boolean, text, jsonb, boolean)',
        'app_engine.record_attempt(uuid, text, text, text, text, text, integer, boolean, text)',
        'app_engine.advance(uuid, text, text, jsonb, jsonb)'] loop
        execute format('revoke all on function %s from public', f);
        execute format('alter function %s owner to app_engine_writer', f);
        execute format('grant execute on function %s to authenticated', f);
    end loop;
end
$$;
revoke create on schema app_engine from app_engine_writer;
