-- Canceled batch items whose provider work may be billed were charged nothing.
--
-- A batch item holds no project reservation of its own (its batch does), only its provider's
-- scope (app_ledger.hold_provider). When cancel-remaining stopped an item whose provider task was
-- running, the charge the provider may bill for it (CanceledTaskCharge: Veo has no cancel, a
-- started FAL request runs on, a cancel that came too late) went to app_engine.finish_generation,
-- which charges a canceled generation only while it holds a project reservation: for the item it
-- wrote nothing, the runner then released the item's hold, and the batch had been settled already
-- without it. A canceled single generation in the same state is charged.
--
-- app_engine.finish_canceled_item is the end of such an item: its provider scope is charged (or
-- released, cost null) and the row records the cost, usage and outputs, exactly as
-- finish_generation records them for a canceled single generation; it stays canceled and no
-- event follows its `canceled` one. It acts only on an item still awaiting that end: canceled,
-- not charged yet, with provider work (a submission in flight or a provider task), no project
-- reservation of its own and its provider-scope hold still open. Otherwise it returns no row.
-- The batch waits for such items before it settles (BatchSettlement, the leftover sweep).

grant create on schema app_engine to app_engine_writer;

create function app_engine.finish_canceled_item(
    generation uuid, provider text, model text, cost numeric, cost_status text, provider_reported_cost numeric,
    cost_lines jsonb, usage jsonb, output_text text, assets jsonb, with_attempt boolean, finish_reason text)
returns setof public.generations
language plpgsql security definer set search_path = '' as $$
declare
    caller uuid := auth.uid();
    current public.generations;
    updated public.generations;
    next_number integer;
    asset jsonb;
begin
    if caller is null then
        raise exception 'no authenticated user' using errcode = '42501';
    end if;
    if finish_canceled_item.cost_status not in ('priced', 'unpriced', 'estimated')
       or jsonb_typeof(coalesce(finish_canceled_item.assets, '[]')) <> 'array' then
        raise exception 'a cost status and an array of assets are required' using errcode = '22023';
    end if;
    select * into current from public.generations g
    where g.id = finish_canceled_item.generation and g.user_id = caller for update;
    if not found or current.status <> 'canceled' or current.cost_status is not null
       or (current.submitting is null and current.provider_task is null)
       or exists (select from public.budget_ledger l where l.generation_id = current.id)
       or not exists (select from public.budget_scope_entries e
                      where e.generation_id = current.id and e.user_id = caller and e.kind = 'reservation'
                        and e.scope like 'provider:%'
                        and not exists (select from public.budget_scope_entries r
                                        where r.generation_id = e.generation_id and r.scope = e.scope
                                          and r.kind in ('release', 'charge'))) then
        return;
    end if;
    perform app_ledger.end_provider(current.id, finish_canceled_item.cost);
    if finish_canceled_item.with_attempt then
        select coalesce(max(a.number), 0) + 1 into next_number from public.generation_attempts a where a.generation_id = current.id;
        insert into public.generation_attempts (user_id, generation_id, number, provider, model, status)
        values (caller, current.id, next_number, finish_canceled_item.provider, finish_canceled_item.model, 'succeeded');
    end if;
    for asset in select value from jsonb_array_elements(coalesce(finish_canceled_item.assets, '[]')) loop
        insert into public.assets (user_id, project_id, generation_id, kind, content_type, bytes, sha256, storage_key)
        values (caller, current.project_id, current.id, asset->>'kind', asset->>'content_type', (asset->>'bytes')::bigint,
                asset->>'sha256', asset->>'storage_key');
    end loop;
    update public.generations g set
        provider = finish_canceled_item.provider,
        model = finish_canceled_item.model,
        output_text = finish_canceled_item.output_text,
        finish_reason = left(finish_canceled_item.finish_reason, 64),
        actual_cost = finish_canceled_item.cost,
        cost_status = finish_canceled_item.cost_status,
        provider_reported_cost = finish_canceled_item.provider_reported_cost,
        cost_lines = finish_canceled_item.cost_lines,
        usage = finish_canceled_item.usage,
        submitting = null,
        updated_at = now()
    where g.id = current.id
    returning * into updated;
    return next updated;
end
$$;

revoke all on function app_engine.finish_canceled_item(uuid, text, text, numeric, text, numeric, jsonb, jsonb, text, jsonb, boolean, text)
    from public;
alter function app_engine.finish_canceled_item(uuid, text, text, numeric, text, numeric, jsonb, jsonb, text, jsonb, boolean, text)
    owner to app_engine_writer;
grant execute on function app_engine.finish_canceled_item(uuid, text, text, numeric, text, numeric, jsonb, jsonb, text, jsonb, boolean, text)
    to authenticated;
revoke create on schema app_engine from app_engine_writer;
