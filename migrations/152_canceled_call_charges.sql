-- A canceled generation whose synchronous call failed after the provider reported usage (a chat
-- stream cut after Anthropic's message_start, the client gone meanwhile) was charged nothing.
--
-- A cancel while a submission is in flight keeps the reservation for the call's answer, and
-- app_engine.finish_generation charges a canceled generation while its submission is marked in
-- flight. A failed call's attempt is recorded first (app_engine.record_attempt), which clears that
-- mark; when the engine then charges the usage the provider reported before the failure,
-- finish_generation no longer sees a canceled generation awaiting a charge and writes nothing,
-- and the runner released the reservation.
--
-- app_engine.finish_canceled_call is that charge for a canceled generation (not a batch item, see
-- 151) whose reservation is still open and which no longer holds provider work (no call marked in
-- flight, no provider task: those finish_generation ends): every scope is settled at `cost` on
-- `provider` (released, cost null) and the row records the cost and usage; it stays canceled and
-- no event follows its `canceled` one. Otherwise it returns no row.

grant create on schema app_engine to app_engine_writer;

create function app_engine.finish_canceled_call(
    generation uuid, provider text, model text, cost numeric, cost_status text, provider_reported_cost numeric,
    cost_lines jsonb, usage jsonb)
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
    if finish_canceled_call.cost_status not in ('priced', 'unpriced', 'estimated') then
        raise exception 'a cost status is required' using errcode = '22023';
    end if;
    select * into current from public.generations g
    where g.id = finish_canceled_call.generation and g.user_id = caller for update;
    if not found or current.status <> 'canceled' or current.cost_status is not null
       or current.submitting is not null or current.provider_task is not null
       or not exists (select from public.budget_ledger l
                      where l.generation_id = current.id and l.user_id = caller and l.kind = 'reservation')
       or exists (select from public.budget_ledger l
                  where l.generation_id = current.id and l.kind in ('release', 'charge')) then
        return;
    end if;
    if finish_canceled_call.cost is not null then
        perform app_ledger.settle(current.id, finish_canceled_call.cost, finish_canceled_call.provider);
    else
        perform app_ledger.release_scoped(current.id);
    end if;
    update public.generations g set
        provider = finish_canceled_call.provider,
        model = finish_canceled_call.model,
        actual_cost = finish_canceled_call.cost,
        cost_status = finish_canceled_call.cost_status,
        provider_reported_cost = finish_canceled_call.provider_reported_cost,
        cost_lines = finish_canceled_call.cost_lines,
        usage = finish_canceled_call.usage,
        updated_at = now()
    where g.id = current.id
    returning * into updated;
    return next updated;
end
$$;

revoke all on function app_engine.finish_canceled_call(uuid, text, text, numeric, text, numeric, jsonb, jsonb) from public;
alter function app_engine.finish_canceled_call(uuid, text, text, numeric, text, numeric, jsonb, jsonb) owner to app_engine_writer;
grant execute on function app_engine.finish_canceled_call(uuid, text, text, numeric, text, numeric, jsonb, jsonb) to authenticated;
revoke create on schema app_engine from app_engine_writer;
